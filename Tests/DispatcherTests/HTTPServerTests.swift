import Foundation
import Testing
@testable import Dispatcher

@Suite struct HTTPServerTests {
    @Test func keepAliveServesSeveralRequestsOnOneConnection() async throws {
        let (server, port) = try startServer()
        let client = try RawClient(port: port)
        for i in 0..<3 {
            await client.send("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n")
            let responses = await client.readResponses(1)
            #expect(responses.first?.status == 200, "request \(i)")
            #expect(responses.first?.body == "hello")
            #expect(responses.first?.headers["connection"] == nil)
        }
        await server.stop()
    }
}
