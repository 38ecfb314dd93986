import Testing
@testable import Jobs

@Suite struct MessageTemplateTests {
    let vars = ["first_name": "Ana", "clinic": "Elm St", "blank": "  ", "empty": ""]

    @Test func fillsPlaceholdersWithOrWithoutSpaces() throws {
        let t = try MessageTemplate(parsing: "Hi {{first_name}}, {{ clinic }} / {{first_name }}!")
        #expect(try t.render(vars) == "Hi Ana, Elm St / Ana!")
        #expect(t.variables == ["first_name", "clinic"])
    }

    @Test func unknownVariablesAreIgnored() throws {
        #expect(try MessageTemplate(parsing: "Hello").render(["unused": "x"]) == "Hello")
    }

    @Test func missingAndEmptyVariables() throws {
        let t = try MessageTemplate(parsing: "Hi {{first_name}} at {{appt_time}}")
        #expect(throws: TemplateError.missingVariable("appt_time")) { try t.render(vars) }
        #expect(throws: TemplateError.emptyVariable("empty")) { try MessageTemplate(parsing: "x {{empty}}").render(vars) }
        #expect(throws: TemplateError.emptyVariable("blank")) { try MessageTemplate(parsing: "x {{blank}}").render(vars) }
        #expect(TemplateError.missingVariable("appt_time").description == "missing variable 'appt_time' for the template")
    }

    @Test func blankBodyIsAnError() throws {
        #expect(throws: TemplateError.emptyBody) { try MessageTemplate(parsing: " \n\t ").render(vars) }
    }

    @Test func backslashEscapesADoubleBrace() throws {
        let t = try MessageTemplate(parsing: "Use \\{{code}} literally, {{first_name}}")
        #expect(try t.render(vars) == "Use {{code}} literally, Ana")
        #expect(t.variables == ["first_name"])
    }

    @Test func loneBracesAndBackslashesAreLiteral() throws {
        let text = "a } b { c }} d \\n e \\ {"
        #expect(try MessageTemplate(parsing: text).render([:]) == text)
    }

    @Test func parseErrors() {
        #expect(throws: TemplateError.unclosedPlaceholder(offset: 4)) { try MessageTemplate(parsing: "Hi {{name") }
        #expect(throws: TemplateError.unclosedPlaceholder(offset: 12)) { try MessageTemplate(parsing: "Hi {{a}} x {{b}") }
        #expect(throws: TemplateError.emptyPlaceholder(offset: 1)) { try MessageTemplate(parsing: "{{ }}") }
        #expect(throws: TemplateError.invalidName("first name", offset: 1)) { try MessageTemplate(parsing: "{{first name}}") }
    }

    @Test func hostileValuesPassThroughVerbatim() throws {
        let sql = "Robert'); DROP TABLE messages;-- \\x00 $1 %s {{x}}"
        let t = try MessageTemplate(parsing: "Hi {{name}}")
        #expect(try t.render(["name": sql]) == "Hi " + sql)
    }
}
