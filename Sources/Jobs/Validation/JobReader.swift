import Support

/// Reads one job file and hands out its messages one at a time, validated.
///
/// The file can be:
/// - a JSON job (`messages` inline), read whole;
/// - a manifest (JSON with `"csv": "NAME.csv"` and no `messages`): the CSV beside it is
///   streamed;
/// - a CSV, with campaign fields from `CampaignSettings` (command-line flags) or, when
///   none are given, from a sibling manifest `NAME.json` that names it.
///
/// Usage (the shape `submit` needs):
/// ```swift
/// let reader = JobReader(path: path, options: JobOptions(now: now))
/// guard let header = reader.header else { /* campaign fields invalid: drain errors */ }
/// while let item = reader.next() {
///     switch item {
///     case .message(let m): enqueue(m)
///     case .error(let e): report(e)
///     }
/// }
/// ```
/// Campaign errors come first, then the messages' items in file order. Memory stays
/// bounded for CSV input: one row at a time plus a set of 64-bit id hashes for the
/// duplicate check. `summary` totals the valid messages handed out so far.
///
/// Not `Sendable`: it owns an open file and a cursor; use it from one task.
public final class JobReader {
    public enum Item: Sendable, Hashable {
        case message(ValidatedMessage)
        case error(JobError)
    }

    /// The path given, used in errors about the file itself and its JSON paths.
    public let file: String
    /// The campaign fields, when they are all valid.
    public private(set) var header: CampaignHeader?
    /// Totals of the valid messages handed out so far.
    public private(set) var summary = JobSummary()
    /// Errors handed out so far.
    public private(set) var errorCount = 0
    /// The CSV being read (the manifest's CSV for a manifest), if any.
    public private(set) var csvFile: String?

    /// What the CSV reader holds and has held, for a CSV-backed job.
    public var csvStatistics: CSVReader.Statistics? { csvReader?.statistics }
    private var csvReader: CSVReader?

    private enum Rows {
        case none
        case json([JSONValue], next: Int)
        case csv(CSVState)
    }

    private final class CSVState {
        let reader: CSVReader
        let file: String
        var columns: CSVColumns?
        init(reader: CSVReader, file: String) {
            self.reader = reader
            self.file = file
        }
    }

    private struct CSVColumns {
        var names: [String]
        var to: Int
        var id, body, sendAt, expiresAt, from: Int?
        var variables: [(name: String, index: Int)]
    }

    private let options: JobOptions
    private var rows: Rows = .none {
        didSet { if case let .csv(state) = rows { csvReader = state.reader } }
    }
    private var validator: MessageValidator?
    private var queue: [JobError] = []
    private var queueIndex = 0

    /// Opens a job file by path. Never throws: an unreadable or malformed file becomes
    /// errors handed out by `next()`.
    public init(path: String, campaign: CampaignSettings? = nil, options: JobOptions = JobOptions()) {
        self.file = path
        self.options = options
        if path.lowercased().hasSuffix(".csv") {
            if let campaign {
                startCSV(path: path, settings: campaign, locate: { .option($0.flag) }, headerFile: path)
                return
            }
            if let manifest = Self.manifest(forCSV: path) {
                openJSON(path: manifest, expectingCSV: path)
                return
            }
            queue.append(JobError(file: path, location: .file, message:
                "a CSV file needs campaign fields: a manifest \(Self.manifestName(forCSV: path)) with \"csv\", or --campaign, --from and --provider"))
            return
        }
        openJSON(path: path, expectingCSV: nil)
    }

    /// Validates JSON held in memory (tests). A manifest's CSV is looked up relative to
    /// `file`.
    public init(json: [UInt8], file: String, options: JobOptions = JobOptions()) {
        self.file = file
        self.options = options
        startJSON(bytes: json, path: file, expectingCSV: nil)
    }

    /// Validates CSV held in memory with campaign fields given directly (tests).
    public init(csv: [UInt8], file: String, campaign: CampaignSettings, options: JobOptions = JobOptions()) {
        self.file = file
        self.options = options
        let (defaults, errors) = CampaignDefaults.resolve(campaign, file: file, options: options, locate: { .option($0.flag) })
        queue += errors
        header = defaults.header
        validator = MessageValidator(file: file, defaults: defaults, options: options)
        csvFile = file
        rows = .csv(CSVState(reader: CSVReader(bytes: csv, configuration: options.csv), file: file))
    }

    /// The manifest `NAME.json` beside `NAME.csv` when it exists and names that CSV.
    public static func manifest(forCSV path: String) -> String? {
        let candidate = manifestName(forCSV: path)
        guard FileBytes.exists(candidate),
              let bytes = try? FileBytes.read(candidate, limit: 1 << 20),
              let json = try? JSONParser.parse(bytes),
              case let .string(csv)? = json["csv"],
              FileBytes.sibling(csv, of: candidate) == path || csv == path else { return nil }
        return candidate
    }

    static func manifestName(forCSV path: String) -> String {
        String(path.dropLast(4)) + ".json"
    }

    /// The next validated message or error; nil when the file is done.
    public func next() -> Item? {
        while true {
            if queueIndex < queue.count {
                let error = queue[queueIndex]
                queueIndex += 1
                if queueIndex == queue.count {
                    queue.removeAll(keepingCapacity: true)
                    queueIndex = 0
                }
                errorCount += 1
                return .error(error)
            }
            switch rows {
            case .none:
                return nil
            case let .json(messages, index):
                guard index < messages.count else {
                    rows = .none
                    return nil
                }
                rows = .json(messages, next: index + 1)
                if let message = validateJSONMessage(messages[index], index: index) { return message }
            case let .csv(state):
                if let message = nextCSV(state) { return message }
            }
        }
    }

    // MARK: JSON

    private func openJSON(path: String, expectingCSV: String?) {
        let bytes: [UInt8]
        do {
            bytes = try FileBytes.read(path)
        } catch {
            queue.append(JobError(file: path, location: .file, message: "cannot read the file: \(error.reason)"))
            return
        }
        startJSON(bytes: bytes, path: path, expectingCSV: expectingCSV)
    }

    private func startJSON(bytes: [UInt8], path: String, expectingCSV: String?) {
        let root: JSONValue
        do {
            root = try JSONParser.parse(bytes)
        } catch {
            queue.append(JobError(file: path, location: .position(line: error.line, column: error.column), message: "invalid JSON: \(error.message)"))
            return
        }
        guard case let .object(members) = root else {
            queue.append(JobError(file: path, location: .file, message: "a job file is a JSON object, not \(root.typeName)"))
            return
        }
        var settings = CampaignSettings()
        var messages: [JSONValue]?
        var csv: String?
        var errors: [JobError] = []
        func fail(_ p: String, _ message: String) {
            errors.append(JobError(file: path, location: .path(p), message: message))
        }
        func string(_ member: JSONMember, numbers: Bool = false) -> String? {
            switch member.value {
            case let .string(s): return s
            case let .number(n) where numbers: return n
            default:
                fail(member.key, "must be a string, not \(member.value.typeName)")
                return nil
            }
        }
        for member in members {
            switch member.key {
            case "campaign": settings.campaign = string(member)
            case "from": settings.from = string(member, numbers: true)
            case "provider": settings.provider = string(member)
            case "template": settings.template = string(member)
            case "send_at": settings.sendAt = string(member)
            case "expires_at": settings.expiresAt = string(member)
            case "csv": csv = string(member)
            case "quiet_hours": settings.quietHours = string(member)
            case "window":
                guard case let .object(fields) = member.value else {
                    fail("window", "must be an object {\"start\": \"09:00\", \"end\": \"20:00\", \"tz\": \"America/New_York\"}")
                    continue
                }
                var start: String?, end: String?, tz: String?
                for field in fields {
                    let p = "window." + field.key
                    guard case let .string(s) = field.value else {
                        if ["start", "end", "tz"].contains(field.key) { fail(p, "must be a string, not \(field.value.typeName)") } else { fail(p, "unknown field") }
                        continue
                    }
                    switch field.key {
                    case "start": start = s
                    case "end": end = s
                    case "tz": tz = s
                    default: fail(p, "unknown field")
                    }
                }
                if start == nil { fail("window.start", "is required") }
                if end == nil { fail("window.end", "is required") }
                if tz == nil { fail("window.tz", "is required (an IANA time zone such as America/New_York, or \"recipient\")") }
                if let start, let end, let tz { settings.window = .init(start: start, end: end, timeZone: tz) }
            case "messages":
                if case let .array(items) = member.value { messages = items } else { fail("messages", "must be an array, not \(member.value.typeName)") }
            default:
                fail(member.key, "unknown field")
            }
        }
        let (defaults, headerErrors) = CampaignDefaults.resolve(settings, file: path, options: options, locate: { .path($0.jsonPath) })
        // Type errors and missing-field errors about the same key: keep the type error.
        let typed = Set(errors.compactMap { if case let .path(p) = $0.location { p } else { nil } })
        errors += headerErrors.filter { if case let .path(p) = $0.location { !typed.contains(p) } else { true } }
        queue += errors
        header = errors.isEmpty ? defaults.header : nil
        var effective = defaults
        effective.failed = effective.failed || !errors.isEmpty

        if let csv {
            if messages != nil {
                queue.append(JobError(file: path, location: .path("messages"), message: "a manifest with \"csv\" cannot also have \"messages\""))
                return
            }
            if let problem = FileBytes.confinementProblem(csv: csv, manifest: path) {
                queue.append(JobError(file: path, location: .path("csv"), message: problem))
                return
            }
            let csvPath = FileBytes.sibling(csv, of: path)
            if let expectingCSV, expectingCSV != csvPath {
                queue.append(JobError(file: path, location: .path("csv"), message: "names \(csvPath), not \(expectingCSV)"))
                return
            }
            csvFile = csvPath
            validator = MessageValidator(file: csvPath, defaults: effective, options: options)
            do {
                rows = .csv(CSVState(reader: try CSVReader(path: csvPath, configuration: options.csv), file: csvPath))
            } catch {
                queue.append(JobError(file: csvPath, location: .file, message: error.message))
            }
            return
        }
        guard let messages else {
            if !members.contains(where: { $0.key == "messages" }) {
                queue.append(JobError(file: path, location: .file, message: "a job file needs \"messages\" (or \"csv\" naming a CSV file beside it)"))
            }
            return
        }
        if messages.isEmpty {
            queue.append(JobError(file: path, location: .path("messages"), message: "no messages"))
        }
        validator = MessageValidator(file: path, defaults: effective, options: options)
        rows = .json(messages, next: 0)
    }

    private func startCSV(path: String, settings: CampaignSettings, locate: (CampaignDefaults.Field) -> JobError.Location, headerFile: String) {
        let (defaults, errors) = CampaignDefaults.resolve(settings, file: headerFile, options: options, locate: locate)
        queue += errors
        header = defaults.header
        csvFile = path
        validator = MessageValidator(file: path, defaults: defaults, options: options)
        do {
            rows = .csv(CSVState(reader: try CSVReader(path: path, configuration: options.csv), file: path))
        } catch {
            queue.append(JobError(file: path, location: .file, message: error.message))
        }
    }

    private func validateJSONMessage(_ value: JSONValue, index: Int) -> Item? {
        let base = "messages[\(index)]"
        var errors: [JobError] = []
        func fail(_ p: String, _ message: String) {
            errors.append(JobError(file: file, location: .path(p), message: message))
        }
        guard case let .object(members) = value else {
            fail(base, "must be an object, not \(value.typeName)")
            return emit(errors)
        }
        var input = MessageInput(variables: [:], source: .jsonIndex(index), locate: .json(index: index))
        for member in members {
            let p = base + "." + member.key
            func text(numbers: Bool) -> String? {
                switch member.value {
                case let .string(s): return s
                case let .number(n) where numbers: return n
                default:
                    fail(p, "must be a string, not \(member.value.typeName)")
                    return nil
                }
            }
            switch member.key {
            case "id": input.id = text(numbers: true)
            case "to": input.to = text(numbers: true)
            case "from": input.from = text(numbers: true)
            case "body": input.body = text(numbers: false)
            case "send_at": input.sendAt = text(numbers: false)
            case "expires_at": input.expiresAt = text(numbers: false)
            case "vars":
                guard case let .object(vars) = member.value else {
                    fail(p, "must be an object, not \(member.value.typeName)")
                    continue
                }
                for v in vars {
                    switch v.value {
                    case let .string(s): input.variables[v.key] = s
                    case let .number(n): input.variables[v.key] = n
                    case let .bool(b): input.variables[v.key] = b ? "true" : "false"
                    default: fail(p + "." + v.key, "must be a string, not \(v.value.typeName)")
                    }
                }
            default:
                fail(p, "unknown field")
            }
        }
        if !errors.isEmpty {
            let id = input.id
            return emit(errors.map { var e = $0; e.messageID = id; return e })
        }
        return validate(input)
    }

    // MARK: CSV

    private func nextCSV(_ state: CSVState) -> Item? {
        do {
            if state.columns == nil {
                let header = try state.reader.readHeader()
                guard let columns = columns(for: header, file: state.file) else {
                    rows = .none
                    return nil
                }
                state.columns = columns
            }
            guard let row = try state.reader.next() else {
                rows = .none
                return nil
            }
            return validate(input(for: row, columns: state.columns!))
        } catch {
            if error.isFatal { rows = .none }
            let location: JobError.Location = error.line > 0 ? .position(line: error.line, column: error.column) : .file
            return emit([JobError(file: state.file, location: location, message: error.message)])
        }
    }

    private func columns(for header: CSVRow, file: String) -> CSVColumns? {
        let names = header.fields
        func index(_ name: String) -> Int? { names.firstIndex(of: name) }
        guard let to = index("to") else {
            queue.append(JobError(file: file, location: .position(line: 1, column: 1), message: "the header has no 'to' column (found: \(names.joined(separator: ", ")))"))
            return nil
        }
        let recognised: Set<String> = ["to", "id", "body", "send_at", "expires_at", "from"]
        let variables = names.enumerated().filter { !recognised.contains($0.element) }.map { (name: $0.element, index: $0.offset) }
        let columns = CSVColumns(names: names, to: to, id: index("id"), body: index("body"), sendAt: index("send_at"),
                                 expiresAt: index("expires_at"), from: index("from"), variables: variables)
        if columns.body == nil, let template = validator?.defaults.template {
            let available = Set(variables.map(\.name))
            let missing = template.variables.filter { !available.contains($0) }
            if !missing.isEmpty {
                let list = missing.map { "'\($0)'" }.joined(separator: ", ")
                queue.append(JobError(file: file, location: .position(line: 1, column: 1), message:
                    "the template uses \(list) but the CSV has no such column\(missing.count == 1 ? "" : "s") (and no 'body' column)"))
                return nil
            }
        }
        return columns
    }

    private func input(for row: CSVRow, columns: CSVColumns) -> MessageInput {
        func field(_ i: Int?) -> String? {
            guard let i else { return nil }
            let value = row.fields[i]
            return value.isEmpty ? nil : value
        }
        var positions: [String: (line: Int, column: Int)] = [:]
        for (i, name) in columns.names.enumerated() {
            positions[name] = (row.fieldLines[i], row.columns[i])
        }
        var variables: [String: String] = [:]
        for v in columns.variables { variables[v.name] = row.fields[v.index] }
        return MessageInput(
            id: field(columns.id), to: field(columns.to), body: field(columns.body), sendAt: field(columns.sendAt),
            expiresAt: field(columns.expiresAt), from: field(columns.from), variables: variables,
            source: .csvLine(row.line), locate: .csv(line: row.line, fields: positions))
    }

    // MARK: Output

    private func validate(_ input: MessageInput) -> Item? {
        switch validator!.validate(input) {
        case let .success(message):
            summary.add(message)
            return .message(message)
        case let .failure(failure):
            return emit(failure.errors)
        }
    }

    /// Queues errors and returns the first (nil when there are none).
    private func emit(_ errors: [JobError]) -> Item? {
        guard !errors.isEmpty else { return nil }
        queue += errors.dropFirst()
        errorCount += 1
        return .error(errors[0])
    }
}
