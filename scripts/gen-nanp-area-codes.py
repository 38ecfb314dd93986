#!/usr/bin/env python3
"""Generate Sources/Jobs/Compliance/NANPAreaCodes.swift from libphonenumber's metadata.

Source: Google's libphonenumber, as shipped by the PyPI package `phonenumbers`
(https://pypi.org/project/phonenumbers/). Two of its data sets are read:

- the time zone prefix data (`phonenumbers.tzdata.TIMEZONE_DATA`): every prefix under
  +1 NPA is read, not just one sample number, so an area code whose exchanges lie in
  different zones (605, 850, 915, ...) gets all of them;
- the English geocoding data (`phonenumbers.geodata`): the area code's own entry names
  the state or province ("Florida", "Ontario"), mapped here to its postal code.

The country or territory comes from `region_code_for_number` on a valid number of the
area code. Area codes whose zone libphonenumber does not know (toll-free, non-geographic,
unassigned) are left out: callers treat them as unknown.

Usage:
    pip install phonenumbers==9.0.43
    python3 scripts/gen-nanp-area-codes.py            # writes the Swift file
    python3 scripts/gen-nanp-area-codes.py --check    # exits 1 if the file is stale

The header of the generated file records the package version; the generation date is
taken from SOURCE_DATE_EPOCH when set, so a re-run can reproduce the committed file.
"""
import datetime
import os
import sys

import phonenumbers
from phonenumbers import geodata, tzdata

OUTPUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..",
                      "Sources", "Jobs", "Compliance", "NANPAreaCodes.swift")

US_STATES = {
    "Alabama": "AL", "Alaska": "AK", "Arizona": "AZ", "Arkansas": "AR", "California": "CA",
    "Colorado": "CO", "Connecticut": "CT", "Delaware": "DE", "Florida": "FL", "Georgia": "GA",
    "Hawaii": "HI", "Idaho": "ID", "Illinois": "IL", "Indiana": "IN", "Iowa": "IA",
    "Kansas": "KS", "Kentucky": "KY", "Louisiana": "LA", "Maine": "ME", "Maryland": "MD",
    "Massachusetts": "MA", "Michigan": "MI", "Minnesota": "MN", "Mississippi": "MS",
    "Missouri": "MO", "Montana": "MT", "Nebraska": "NE", "Nevada": "NV", "New Hampshire": "NH",
    "New Jersey": "NJ", "New Mexico": "NM", "New York": "NY", "North Carolina": "NC",
    "North Dakota": "ND", "Ohio": "OH", "Oklahoma": "OK", "Oregon": "OR", "Pennsylvania": "PA",
    "Rhode Island": "RI", "South Carolina": "SC", "South Dakota": "SD", "Tennessee": "TN",
    "Texas": "TX", "Utah": "UT", "Vermont": "VT", "Virginia": "VA", "Washington": "WA",
    "Washington State": "WA", "West Virginia": "WV", "Wisconsin": "WI", "Wyoming": "WY",
    "Washington D.C.": "DC", "District of Columbia": "DC",
}
CA_PROVINCES = {
    "Alberta": "AB", "British Columbia": "BC", "Manitoba": "MB", "New Brunswick": "NB",
    "Newfoundland and Labrador": "NL", "Newfoundland": "NL", "Nova Scotia": "NS",
    "Ontario": "ON", "Prince Edward Island": "PE", "Quebec": "QC", "Québec": "QC",
    "Saskatchewan": "SK", "Yukon": "YT", "Northwest Territories": "NT", "Nunavut": "NU",
    "Nova Scotia/Prince Edward Island": "NS",
    "Yukon/Northwest Territories/Nunavut": "YT",
}
POSTAL = set(US_STATES.values()) | set(CA_PROVINCES.values())


def zones_for(npa):
    """Every zone named by a prefix at or under +1 NPA."""
    key = "1" + npa
    zones = set()
    for prefix, names in tzdata.TIMEZONE_DATA.items():
        if prefix.startswith(key):
            zones.update(names)
    return sorted(zones)


def valid_number(npa):
    for exchange in list(range(555, 1000)) + list(range(200, 555)):
        for line in ("0100", "1234", "5678"):
            n = phonenumbers.parse("+1%s%03d%s" % (npa, exchange, line))
            if phonenumbers.is_valid_number(n):
                return n
    return None


def geo_entries():
    data = geodata.GEOCODE_DATA
    return data


def region_for(npa, country, geo):
    """The postal code of the area code's state or province, for US and CA numbers."""
    if country not in ("US", "CA"):
        return None
    names = US_STATES if country == "US" else CA_PROVINCES
    own = geo.get("1" + npa, {}).get("en")
    if own in names:
        return names[own]
    if own and ", " in own and own.rsplit(", ", 1)[-1] in names.values():
        return own.rsplit(", ", 1)[-1]
    # No state name for the area code itself: the most common ", XX" suffix of its exchanges.
    # Recent overlays without any geocoding entry stay nil: callers apply the strictest
    # rules of the country to them.
    counts = {}
    for prefix, descs in geo.items():
        if prefix.startswith("1" + npa) and len(prefix) > 4:
            d = descs.get("en", "")
            code = d.rsplit(", ", 1)[-1] if ", " in d else names.get(d)
            if code in POSTAL:
                counts[code] = counts.get(code, 0) + 1
    if counts:
        return max(sorted(counts), key=lambda c: counts[c])
    return None


def rows():
    geo = geo_entries()
    out = []
    for n in range(200, 1000):
        npa = "%03d" % n
        zones = zones_for(npa)
        if not zones:
            continue
        number = valid_number(npa)
        if number is None:
            continue
        country = phonenumbers.region_code_for_number(number)
        if country is None:
            continue
        out.append((n, country, region_for(npa, country, geo), zones))
    return out


def render(entries):
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    when = (datetime.datetime.fromtimestamp(int(epoch), datetime.timezone.utc) if epoch
            else datetime.datetime.now(datetime.timezone.utc)).date().isoformat()
    lines = [
        "// Generated by scripts/gen-nanp-area-codes.py. Do not edit: re-run the script.",
        "//",
        "// Source: libphonenumber's time zone prefix data and English geocoding data,",
        "// from the PyPI package phonenumbers %s (https://pypi.org/project/phonenumbers/)." % phonenumbers.__version__,
        "// Generated on %s. %d area codes." % (when, len(entries)),
        "",
        "extension NANPAreaCodes {",
        "    /// The data source and its version.",
        "    public static let source = \"libphonenumber metadata, PyPI phonenumbers %s\"" % phonenumbers.__version__,
        "",
        "    /// Area code, country or territory (ISO 3166 code as libphonenumber gives it),",
        "    /// state or province postal code (US and CA only), and every IANA zone the",
        "    /// area code's exchanges lie in.",
        "    static let rows: [NANPAreaCode] = [",
    ]
    for n, country, region, zones in entries:
        r = '"%s"' % region if region else "nil"
        zs = ", ".join('"%s"' % z for z in zones)
        lines.append('        .init(%d, "%s", %s, [%s]),' % (n, country, r, zs))
    lines += ["    ]", "}", ""]
    return "\n".join(lines)


def main():
    text = render(rows())
    if "--check" in sys.argv:
        with open(OUTPUT, encoding="utf-8") as f:
            old = f.read()
        strip = lambda t: [l for l in t.splitlines() if not l.startswith("// Generated on")]
        if strip(old) != strip(text):
            print("NANPAreaCodes.swift is stale: re-run scripts/gen-nanp-area-codes.py", file=sys.stderr)
            sys.exit(1)
        return
    os.makedirs(os.path.dirname(OUTPUT), exist_ok=True)
    with open(OUTPUT, "w", encoding="utf-8") as f:
        f.write(text)
    print("wrote %s" % os.path.relpath(OUTPUT))


if __name__ == "__main__":
    main()
