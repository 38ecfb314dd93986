// swift-tools-version: 6.0
import PackageDescription

// No package dependencies: the toolchain plus libpq (and epoll's header) through system library targets.
let strict: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

let package = Package(
    name: "dispatcher",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "dispatcher", targets: ["DispatcherCLI"]),
    ],
    targets: [
        .systemLibrary(
            name: "CLibPQ",
            pkgConfig: "libpq",
            providers: [.apt(["libpq-dev"])]
        ),
        // Linux epoll for the HTTP event loops (not part of the Glibc module).
        .systemLibrary(name: "CEpoll"),
        .target(name: "Jobs", swiftSettings: strict),
        .target(name: "Store", dependencies: ["CLibPQ", "Jobs"], swiftSettings: strict),
        .target(name: "Dispatcher", dependencies: ["Store", "Jobs", "CEpoll"], swiftSettings: strict),
        .executableTarget(name: "DispatcherCLI", dependencies: ["Dispatcher", "Store", "Jobs"], swiftSettings: strict),
        // Starts the throwaway PostgreSQL cluster the database tests run against.
        .target(name: "TestSupport", dependencies: ["Store"], path: "Tests/TestSupport", swiftSettings: strict),
        .testTarget(name: "JobsTests", dependencies: ["Jobs"], swiftSettings: strict),
        .testTarget(name: "StoreTests", dependencies: ["Store", "Jobs", "TestSupport"], swiftSettings: strict),
        .testTarget(name: "DispatcherTests", dependencies: ["Dispatcher", "Store", "Jobs", "TestSupport"],
                    resources: [.copy("Fixtures")], swiftSettings: strict),
    ],
    swiftLanguageModes: [.v6]
)
