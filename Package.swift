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
        // Shared primitives: LockedValue, WakeSignal, Logger, JSON (parse, typed fields, write).
        .target(name: "Support", swiftSettings: strict),
        .target(name: "Jobs", dependencies: ["Support"], swiftSettings: strict),
        .target(name: "Store", dependencies: ["CLibPQ", "Jobs", "Support"], swiftSettings: strict),
        // HTTP/1.1 server and client over sockets and epoll; knows nothing of SMS.
        .target(name: "HTTP", dependencies: ["Support", "CEpoll"], swiftSettings: strict),
        // The local provider (both seed APIs); nothing of the engine.
        .target(name: "Sandbox", dependencies: ["HTTP", "Support"], swiftSettings: strict),
        .target(name: "Dispatcher", dependencies: ["Store", "Jobs", "HTTP", "Support"], swiftSettings: strict),
        .executableTarget(name: "DispatcherCLI", dependencies: ["Dispatcher", "Sandbox", "HTTP", "Store", "Jobs", "Support"],
                          swiftSettings: strict),
        // Starts the throwaway PostgreSQL cluster the database tests run against.
        .target(name: "TestSupport", dependencies: ["Store"], path: "Tests/TestSupport", swiftSettings: strict),
        .testTarget(name: "SupportTests", dependencies: ["Support"], swiftSettings: strict),
        .testTarget(name: "JobsTests", dependencies: ["Jobs"], swiftSettings: strict),
        // Raw-socket clients and servers for the tests of HTTP servers.
        .target(name: "HTTPTesting", dependencies: ["HTTP", "Support"], path: "Tests/HTTPTesting", swiftSettings: strict),
        .testTarget(name: "HTTPTests", dependencies: ["HTTP", "HTTPTesting", "Support"], swiftSettings: strict),
        .testTarget(name: "StoreTests", dependencies: ["Store", "Jobs", "TestSupport"], swiftSettings: strict),
        .testTarget(name: "DispatcherTests",
                    dependencies: ["Dispatcher", "Sandbox", "HTTP", "Store", "Jobs", "Support", "HTTPTesting", "TestSupport"],
                    resources: [.copy("Fixtures")], swiftSettings: strict),
    ],
    swiftLanguageModes: [.v6]
)
