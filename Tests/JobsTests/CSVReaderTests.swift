import Testing
@testable import Jobs

@Suite struct CSVReaderTests {
    @Test func placeholder() throws {
        let r = CSVReader(string: "a,b\n1,2\n")
        let row = try #require(try r.next())
        #expect(row.fields == ["1", "2"])
    }
}
