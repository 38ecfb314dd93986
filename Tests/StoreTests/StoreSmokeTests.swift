import Testing
@testable import Store

@Test func storeModuleLinks() { #expect(Bool(true)) }
