/// A small argument list: options are taken out by name, what remains are positionals.
///
/// Options are `--name value` or `--name=value`; flags are `--name`. After parsing a
/// command calls `finish()` so an unknown option is a usage error, not silently ignored.
struct Arguments {
    private(set) var items: [String]

    init(_ items: [String]) { self.items = items }

    func contains(_ flag: String) -> Bool { items.contains(flag) }

    /// Removes a boolean flag; true when it was present.
    mutating func flag(_ name: String) -> Bool {
        guard let i = items.firstIndex(of: name) else { return false }
        items.remove(at: i)
        return true
    }

    /// Removes `--name value` or `--name=value`; the last one wins when repeated.
    mutating func option(_ name: String) throws(CLIFailure) -> String? {
        var value: String?
        var i = 0
        while i < items.count {
            let item = items[i]
            if item == name {
                guard i + 1 < items.count else { throw .usage("\(name) needs a value") }
                value = items[i + 1]
                items.removeSubrange(i...(i + 1))
            } else if item.hasPrefix(name + "=") {
                value = String(item.dropFirst(name.count + 1))
                items.remove(at: i)
            } else {
                i += 1
            }
        }
        return value
    }

    /// Everything left must be positional; an unknown `--option` is a usage error.
    mutating func positionals() throws(CLIFailure) -> [String] {
        var result: [String] = []
        var rest = items[...]
        while let item = rest.popFirst() {
            if item == "--" { result += rest; break }
            if item.hasPrefix("-") && item.count > 1 { throw .usage("unknown option '\(item)'") }
            result.append(item)
        }
        items = []
        return result
    }
}
