/// One status callback to post `at` seconds after acceptance.
struct SandboxCallbackEvent: Sendable {
    var url: String
    var method: String
    var at: Double
    var form: [(String, String)]
}
