import Foundation
import Glibc
import Store
import Testing

@Suite struct SubprocessTests {
    /// A child gets stdin, stdout and stderr, nothing else of ours: an inherited socket keeps
    /// its connection open after we close it (a daemonised PgBouncer held other tests' sockets).
    @Test func childInheritsNoOtherDescriptor() async throws {
        let fds = (0..<3).map { _ in open("/dev/null", O_RDONLY) }  // no O_CLOEXEC
        defer { fds.forEach { close($0) } }
        #expect(fds.allSatisfy { $0 > 2 })
        // ls lists its own descriptors: 0, 1, 2 and the one it reads the directory with
        let output = try await Subprocess.run("/bin/sh", ["-c", "exec ls /proc/self/fd"])
        let inChild = Set(output.split(whereSeparator: \.isNewline).compactMap { Int32($0) })
        #expect(inChild.isSuperset(of: [0, 1, 2]))
        #expect(inChild.count <= 4, "\(inChild.sorted())")
        #expect(inChild.isDisjoint(with: fds.filter { $0 > 3 }), "\(inChild.sorted()) has some of \(fds)")
    }
}
