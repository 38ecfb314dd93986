import Testing
@testable import Dispatcher

@Test func dispatcherModuleLinks() { #expect(Bool(true)) }
