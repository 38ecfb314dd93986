import Testing
@testable import Jobs

@Test func jobsModuleLinks() { #expect(Bool(true)) }
