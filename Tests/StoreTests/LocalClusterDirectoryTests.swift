import Store
import Testing

/// Where a checkout's embedded cluster lives (pure: no files are touched).
@Suite struct LocalClusterDirectoryTests {
    /// As root the server runs as `postgres`, who cannot enter root's 0700 home: the cluster
    /// goes under /var/tmp, named by a stable hash of the checkout's path.
    @Test func rootKeepsTheClusterUnderVarTmpPerCheckout() {
        let a = LocalCluster.embeddedDirectory(checkout: "/root/dispatcher", runningAsRoot: true)
        let b = LocalCluster.embeddedDirectory(checkout: "/root/dispatcher-2", runningAsRoot: true)
        #expect(a.hasPrefix("/var/tmp/dispatcher-"), "\(a)")
        #expect(a.hasSuffix("/pg"), "\(a)")
        #expect(!a.hasPrefix("/root"))
        #expect(a == LocalCluster.embeddedDirectory(checkout: "/root/dispatcher", runningAsRoot: true))
        #expect(a != b)
        #expect(a == LocalCluster.embeddedRootParent(checkout: "/root/dispatcher") + "/pg")
        // 12 hex digits, the same in every process (FNV-1a of the path)
        let hash = a.dropFirst("/var/tmp/dispatcher-".count).dropLast("/pg".count)
        #expect(hash.count == 12 && hash.allSatisfy(\.isHexDigit), "\(hash)")
        #expect(LocalCluster.stableHash("") == "cbf29ce48422")
        #expect(LocalCluster.stableHash("a") == "af63dc4c8601")
    }

    /// Not root: the server runs as this user and keeps its cluster in the checkout.
    @Test func otherUsersKeepTheClusterInTheCheckout() {
        #expect(LocalCluster.embeddedDirectory(checkout: "/home/ann/dispatcher", runningAsRoot: false)
            == "/home/ann/dispatcher/.dispatcher/pg")
    }
}
