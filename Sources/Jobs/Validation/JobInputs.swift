/// One job file to read, with the campaign flags a bare CSV is read under (nil: the file
/// carries its own campaign fields, or a manifest does).
public struct JobInput: Sendable, Hashable {
    public var path: String
    public var settings: CampaignSettings?

    public init(path: String, settings: CampaignSettings? = nil) {
        self.path = path
        self.settings = settings
    }
}

/// The files a command was given that cannot be read as asked: one readable line (a usage error).
public struct JobInputError: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

extension JobInput {
    /// Pairs the files of `validate` and `submit` with what their campaign comes from:
    /// a JSON job file or manifest carries its own; a CSV takes the campaign flags when any
    /// were given (all of campaign, from and provider then), else the manifest that names it
    /// (`NAME.json` with `"csv": "NAME.csv"`) — and is left out when that manifest is among
    /// the files too, so it is read once. A CSV with neither is an error.
    public static func pair(_ files: [String], flags: CampaignSettings?) throws(JobInputError) -> [JobInput] {
        var inputs: [JobInput] = []
        for file in files {
            guard file.lowercased().hasSuffix(".csv") else {
                inputs.append(JobInput(path: file))
                continue
            }
            if let flags {
                let missing = flags.missingFlags
                guard missing.isEmpty else {
                    throw JobInputError("\(file): a CSV without a manifest needs \(missing.joined(separator: ", "))")
                }
                inputs.append(JobInput(path: file, settings: flags))
            } else if let manifest = JobReader.manifest(forCSV: file) {
                // Its manifest is read instead; skip it when given too.
                if !files.contains(manifest) { inputs.append(JobInput(path: file)) }
            } else {
                throw JobInputError("\(file): no manifest names this CSV; give --campaign, --from and --provider")
            }
        }
        return inputs
    }
}
