import Foundation
import Jobs
import Testing
@testable import Dispatcher

/// The `compliance` section: what it reads, what it refuses, and the built-in texts.
@Suite struct ComplianceConfigurationTests {
    func parse(_ json: String) throws(ConfigurationError) -> DispatcherConfiguration {
        try DispatcherConfiguration.parse(Array(json.utf8), file: "d.json")
    }

    @Test func theSectionIsReadPerSenderWithADefault() throws {
        let c = try parse("""
            {"compliance": {"stop_words": ["ALTO", "PARAR"], "start_words": ["INICIO"],
              "default": {"brand": "Acme Clinic", "help_contact": "555-0100"},
              "senders": {"(243) 567-8911": {"brand": "Acme Dental", "stop_confirmation": "Acme Dental: unsubscribed. Reply START to resubscribe."}}}}
            """).compliance
        #expect(c.stopWords == ["ALTO", "PARAR"] && c.startWords == ["INICIO"])
        // the sender's own text, else the default's brand in the built-in text
        #expect(c.stopConfirmation(sender: "+12435678911") == "Acme Dental: unsubscribed. Reply START to resubscribe.")
        #expect(c.stopConfirmation(sender: "+12435678910") == ComplianceConfiguration.defaultStopConfirmation(brand: "Acme Clinic"))
        #expect(c.helpReply(sender: "+12435678911") == "Acme Dental appointment reminders. Help: 555-0100. Msg & data rates may apply. Reply STOP to opt out.")
        #expect(c.classifier.classify("parar") == .optOut(keyword: "PARAR"))
        #expect(c.classifier.classify("inicio") == .optIn(keyword: "INICIO"))
        // no section: the built-in texts name the sender number
        let none = try parse("{}").compliance
        #expect(none.stopConfirmation(sender: "+12435678910").hasPrefix("+12435678910: "))
        #expect(none.classifier.classify("ALTO") == .none)
    }

    @Test func theBuiltInTextsSayWhatTheyMustInOneGSMSegment() {
        let brand = String(repeating: "B", count: ComplianceConfiguration.maxBrandLength)
        let contact = String(repeating: "9", count: ComplianceConfiguration.maxHelpContactLength)
        let stop = ComplianceConfiguration.defaultStopConfirmation(brand: brand)
        let start = ComplianceConfiguration.defaultStartConfirmation(brand: brand)
        let help = ComplianceConfiguration.defaultHelpReply(brand: brand, helpContact: contact)
        for text in [stop, start, help, ComplianceConfiguration.defaultHelpReply(brand: brand, helpContact: nil)] {
            let count = SegmentCount(body: text)
            #expect(count.encoding == .gsm7 && count.segments == 1 && count.units <= 160, "\(count.units): \(text)")
            #expect(text.contains(brand))
        }
        #expect(stop.contains("Reply START to resubscribe"))
        #expect(start.contains("Reply STOP"))
        #expect(help.contains(contact) && help.contains("Msg & data rates may apply") && help.contains("Reply STOP to opt out"))
    }

    @Test func badSettingsNameTheirPath() {
        let long = String(repeating: "x", count: 601)
        let cases: [(String, String, String)] = [
            (#"{"compliance": {"stop_word": ["ALTO"]}}"#, "compliance.stop_word", "unknown setting"),
            (#"{"compliance": {"stop_words": "ALTO"}}"#, "compliance.stop_words", "array"),
            (#"{"compliance": {"stop_words": ["ALTO", ""]}}"#, "compliance.stop_words[1]", "letter or digit"),
            (#"{"compliance": {"stop_words": ["AL;TO"]}}"#, "compliance.stop_words[0]", "only letters"),
            (#"{"compliance": {"stop_words": ["yes"]}}"#, "compliance.stop_words", "'yes' is also an opt-in or help keyword"),
            (#"{"compliance": {"stop_words": ["Info"]}}"#, "compliance.stop_words", "also an opt-in or help"),
            (#"{"compliance": {"start_words": ["Opt-Out"]}}"#, "compliance.start_words", "also an opt-out"),
            (#"{"compliance": {"stop_words": ["ALTO"], "start_words": ["alto"]}}"#, "compliance.stop_words", "also an opt-in"),
            (#"{"compliance": {"default": {"brand": ""}}}"#, "compliance.default.brand", "empty"),
            (#"{"compliance": {"default": {"brand": "\#(String(repeating: "b", count: 41))"}}}"#, "compliance.default.brand", "at most 40"),
            (#"{"compliance": {"default": {"help_reply": "\#(long)"}}}"#, "compliance.default.help_reply", "at most 600"),
            (#"{"compliance": {"default": {"help_reply": "a\u0000b"}}}"#, "compliance.default.help_reply", "control"),
            (#"{"compliance": {"default": {"stop_confirmation": 7}}}"#, "compliance.default.stop_confirmation", "string"),
            (#"{"compliance": {"senders": {"12": {}}}}"#, "compliance.senders.12", "phone number"),
            (#"{"compliance": {"senders": {"2435678910": {"colour": "red"}}}}"#, "compliance.senders.2435678910.colour", "unknown setting"),
            (#"{"compliance": []}"#, "compliance", "object"),
        ]
        for (json, path, message) in cases {
            do {
                _ = try parse(json)
                Issue.record("accepted: \(json)")
            } catch {
                #expect(error.path == path, "\(json): \(error)")
                #expect(error.message.contains(message), "\(json): \(error)")
            }
        }
    }
}
