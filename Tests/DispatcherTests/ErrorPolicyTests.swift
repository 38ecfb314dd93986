import Testing
@testable import Dispatcher

@Suite struct ErrorPolicyTests {
    @Test func everyNormalisedCodeHasARule() {
        for code in ErrorCode.allCases { #expect(ErrorPolicy.table[code] != nil, "\(code)") }
    }

    @Test(arguments: [
        (30001, ErrorRule(.retry, slowsDown: true)),
        (30002, ErrorRule(.haltAccount)),
        (30003, ErrorRule(.retry, maxRetries: 2)),
        (30004, ErrorRule(.fail)),
        (30005, ErrorRule(.fail)),
        (30006, ErrorRule(.fail)),
        (30007, ErrorRule(.fail)),
        (30008, ErrorRule(.retry)),
        (30009, ErrorRule(.retry)),
        (30010, ErrorRule(.haltAccount)),
        (30090, ErrorRule(.retry)),
    ])
    func restcommCodesOfTheSeed(code: Int, rule: ErrorRule) {
        #expect(ErrorPolicy.rule(for: ErrorPolicy.normalise(restcommCode: code)) == rule)
    }

    @Test func normalisedCodesOfTheSpec() {
        #expect(ErrorPolicy.rule(for: .queueOverflow) == ErrorRule(.retry, slowsDown: true))
        #expect(ErrorPolicy.rule(for: .rateLimited) == ErrorRule(.retry, slowsDown: true))
        #expect(ErrorPolicy.rule(for: .timeout).action == .lookUp)
        #expect(ErrorPolicy.rule(for: .http5xx).action == .lookUp)
        #expect(ErrorPolicy.rule(for: .serviceUnavailable) == ErrorRule(.retry, nothingSent: true))
        #expect(ErrorPolicy.rule(for: .noConnection) == ErrorRule(.retry, nothingSent: true))
        #expect(ErrorPolicy.rule(for: .invalidNumber).action == .fail)
        #expect(ErrorPolicy.rule(for: .landline).action == .fail)
        #expect(ErrorPolicy.rule(for: .unsubscribed).action == .failAndOptOut)
        #expect(ErrorPolicy.rule(for: .authFailed).action == .haltAccount)
        #expect(ErrorPolicy.normalise(httpStatus: 401) == .authFailed)
        #expect(ErrorPolicy.normalise(httpStatus: 429) == .rateLimited)
        #expect(ErrorPolicy.normalise(httpStatus: 503) == .serviceUnavailable)
        for status in [500, 502, 504, 599] { #expect(ErrorPolicy.normalise(httpStatus: status) == .http5xx) }
        #expect(ErrorPolicy.normalise(restcommCode: 12345) == .providerError)
        #expect(ErrorPolicy.table.filter { $0.value.slowsDown }.keys.sorted { $0.rawValue < $1.rawValue } == [.queueOverflow, .rateLimited])
    }

    @Test(arguments: [
        ("Invalid 'to' phone number", ErrorCode.invalidNumber),
        ("Attempt to send to unsubscribed recipient", .unsubscribed),
        ("To number: +1xxxxxxxxx, is not a mobile number", .landline),
        ("Unauthorized access to sample service", .authFailed),
        ("Something else entirely", .providerError),
    ])
    func plumFailureTexts(text: String, code: ErrorCode) {
        #expect(PlumClient.normalise(failureText: text) == code)
    }
}
