// Fuzz target `template`: message templates with {{name}} placeholders
// (Sources/Jobs/Model/MessageTemplate.swift).
//
// Checks beyond "does not crash":
// - a template that parses, written back from its parts (literal braces as `\{{`), parses to
//   the same parts;
// - rendering with every variable set gives the parts' text and values joined, and fails
//   with a missing variable when one is left out.
@testable import Jobs

private func source(of parts: [MessageTemplate.Part]) -> String {
    var out = ""
    for part in parts {
        switch part {
        case .text(let text):
            // A run of n braces: `\{{` for each pair, and a lone `{` first when n is odd (so
            // it is never read as the start of a following `{{`).
            let scalars = Array(text.unicodeScalars)
            var i = 0
            while i < scalars.count {
                guard scalars[i] == "{" else {
                    out.unicodeScalars.append(scalars[i])
                    i += 1
                    continue
                }
                var n = 0
                while i < scalars.count && scalars[i] == "{" { n += 1; i += 1 }
                if n % 2 == 1 { out += "{" }
                out += String(repeating: "\\{{", count: n / 2)
            }
        case .variable(let name):
            out += "{{" + name + "}}"
        }
    }
    return out
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    let template: MessageTemplate
    do {
        template = try MessageTemplate(parsing: text)
    } catch {
        _ = error.description
        return 0
    }
    let written = source(of: template.parts)
    guard let again = try? MessageTemplate(parsing: written), again.parts == template.parts else {
        fatalError("\(text.debugDescription) written back as \(written.debugDescription) parses differently")
    }

    var values: [String: String] = [:]
    for (i, name) in template.variables.enumerated() { values[name] = "<\(i)>" }
    var expected = ""
    for part in template.parts {
        switch part {
        case .text(let t): expected += t
        case .variable(let name): expected += values[name]!
        }
    }
    do {
        let body = try template.render(values)
        if body != expected { fatalError("rendered \(body.debugDescription), expected \(expected.debugDescription)") }
        _ = SegmentCount(body: body)
    } catch {
        if error != .emptyBody { fatalError("render failed: \(error)") }
        if !expected.unicodeScalars.allSatisfy({ $0.properties.isWhitespace }) { fatalError("emptyBody for \(expected.debugDescription)") }
    }
    if let first = template.variables.first {
        values[first] = nil
        do {
            _ = try template.render(values)
            fatalError("rendered without \(first)")
        } catch {
            if error != .missingVariable(first) { fatalError("without \(first): \(error)") }
        }
    }
    return 0
}
