#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Whole-file reads for JSON job files and manifests (CSV is streamed instead).
enum FileBytes {
    /// JSON job files larger than this are refused: put large campaigns in a CSV.
    static let maxJSONBytes = 256 * 1024 * 1024

    struct ReadError: Error {
        var reason: String
    }

    static func read(_ path: String, limit: Int = maxJSONBytes) throws(ReadError) -> [UInt8] {
        let fd: Int32
        switch openRegularFile(path, maxBytes: limit) {
        case .success(let opened): fd = opened
        case .failure(.unreadable(let reason)): throw ReadError(reason: reason)
        case .failure(.notRegular): throw ReadError(reason: "not a regular file (a FIFO, device, directory or socket is never read)")
        case .failure(.tooLarge): throw ReadError(reason: "larger than \(limit) bytes; use a CSV file with a manifest")
        }
        defer { _ = close(fd) }
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let n = chunk.withUnsafeMutableBytes { systemRead(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw ReadError(reason: String(cString: strerror(errno)))
            }
            if n == 0 { return out }
            out.append(contentsOf: chunk[0..<n])
            if out.count > limit { throw ReadError(reason: "larger than \(limit) bytes; use a CSV file with a manifest") }
        }
    }

    static func exists(_ path: String) -> Bool {
        access(path, F_OK) == 0
    }

    /// `name` resolved against the directory of `file` (unless absolute).
    static func sibling(_ name: String, of file: String) -> String {
        if name.hasPrefix("/") { return name }
        guard let slash = file.lastIndex(of: "/") else { return name }
        return String(file[...slash]) + name
    }

    /// Why a manifest's `"csv"` is refused, or nil when it is a plain `NAME.csv` naming a
    /// file in the manifest's own directory (a symbolic link is followed and must stay in
    /// that directory). Says nothing about the file's content: it may not be a job file.
    static func confinementProblem(csv name: String, manifest: String) -> String? {
        let plain = !name.isEmpty && name != "." && name != ".." && !name.contains("/") && !name.utf8.contains(0)
        guard plain, name.lowercased().hasSuffix(".csv"), name.count > 4 else {
            return "must name a CSV file (NAME.csv) in the manifest's own directory, not a path"
        }
        let directory = sibling(".", of: manifest)
        guard let realDirectory = realPath(directory) else { return nil }  // unreadable: reported when opened
        guard let target = realPath(sibling(name, of: manifest)) else { return nil }  // missing: reported when opened
        guard let slash = target.lastIndex(of: "/"), String(target[..<slash]) == (realDirectory == "/" ? "" : realDirectory) else {
            return "names \(name), a link that leads out of the manifest's directory"
        }
        return nil
    }

    static func realPath(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }
}

enum OpenProblem: Error {
    case unreadable(String)
    case notRegular
    case tooLarge
}

/// Opens `path` for reading when it is a regular file of at most `maxBytes`. The open never
/// blocks (a FIFO would, until a writer came): it is non-blocking, and the flag is cleared
/// once the file is known to be regular.
func openRegularFile(_ path: String, maxBytes: Int) -> Result<Int32, OpenProblem> {
    let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY)
    guard fd >= 0 else { return .failure(.unreadable(String(cString: strerror(errno)))) }
    var info = stat()
    guard fstat(fd, &info) == 0 else {
        let reason = String(cString: strerror(errno))
        _ = close(fd)
        return .failure(.unreadable(reason))
    }
    guard info.st_mode & S_IFMT == S_IFREG else {
        _ = close(fd)
        return .failure(.notRegular)
    }
    guard Int(info.st_size) <= maxBytes else {
        _ = close(fd)
        return .failure(.tooLarge)
    }
    _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK)
    return .success(fd)
}

private func systemRead(_ fd: Int32, _ buffer: UnsafeMutableRawPointer?, _ count: Int) -> Int {
    read(fd, buffer, count)
}
