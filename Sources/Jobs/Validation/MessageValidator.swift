import Foundation

/// Turns raw messages into `ValidatedMessage`s, one at a time, remembering only the
/// ids it has seen (as 64-bit FNV-1a hashes: 1,000,000 ids take about 16 MB; two
/// different ids colliding is about a 1 in 10^7 chance at that size, and would show
/// up as a false "duplicate id" error, never as a lost message).
struct MessageValidator {
    let file: String
    let defaults: CampaignDefaults
    let options: JobOptions
    private var seenIDs = Set<UInt64>()

    /// Longest accepted message id.
    static let maxIDLength = 128

    init(file: String, defaults: CampaignDefaults, options: JobOptions) {
        self.file = file
        self.defaults = defaults
        self.options = options
    }

    /// Validates one message: the message, or every error found in it.
    mutating func validate(_ input: MessageInput) -> Result<ValidatedMessage, MessageErrors> {
        var errors: [JobError] = []
        var id = input.id?.trimmingASCIISpaces()
        if id?.isEmpty == true { id = nil }
        func fail(_ field: MessageInput.Field, _ message: String) {
            errors.append(JobError(file: file, location: input.locate.location(field), messageID: id, message: message))
        }

        if let given = id {
            if given.unicodeScalars.count > Self.maxIDLength {
                fail(.id, "message id is longer than \(Self.maxIDLength) characters")
            } else if given.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) {
                fail(.id, "message id contains control characters")
            }
        }

        var to: Recipient?
        if let text = input.to, !text.isBlank {
            do {
                to = try Recipient(parsing: text, kind: defaults.kind)
            } catch {
                fail(.to, "\(error)")
            }
        } else {
            fail(.to, "recipient 'to' is required")
        }

        var from = defaults.from
        if let text = input.from, !text.isBlank {
            do {
                from = try PhoneNumber(parsing: text)
            } catch {
                from = nil
                fail(.from, "invalid sender number: \(error)")
            }
            // a sender of its own must belong to the campaign's provider account
            if let number = from, let accounts = defaults.providerAccounts, let account = defaults.account,
               let owner = accounts.senderAccounts[number.e164], owner != account {
                fail(.from, "sender \(number.e164) belongs to provider account '\(owner)'; this campaign sends through '\(account)'")
            }
        }

        var body: String?
        if let explicit = input.body, !explicit.isEmpty {
            if explicit.isBlank { fail(.body, "the message body is empty") } else { body = explicit }
        } else if let template = defaults.template {
            do {
                body = try template.render(input.variables)
            } catch {
                switch error {
                case .missingVariable: fail(.variables, "\(error)")
                case let .emptyVariable(name): fail(.variable(name), "\(error)")
                default: fail(.row, "\(error)")
                }
            }
        } else if !defaults.templateFailed {
            fail(.row, "no body: give a 'body' or a campaign template")
        }
        if let text = body {
            if text.utf8.contains(0) {
                fail(input.body != nil ? .body : .row, "the message body contains a NUL character")
                body = nil
            }
        }
        var segments: SegmentCount?
        if let text = body {
            let count = SegmentCount(body: text)
            if count.segments > options.maxSegments {
                fail(input.body != nil ? .body : .row,
                     "the body needs \(count.segments) segments (\(count.encoding), \(count.units) units); the maximum is \(options.maxSegments)")
            } else {
                segments = count
            }
        }

        var sendAt = defaults.sendAt
        var sendAtText = defaults.sendAtText
        if let text = input.sendAt, !text.isBlank {
            do {
                sendAt = try Timestamp.parse(text)
                sendAtText = text
            } catch {
                fail(.sendAt, "send_at: \(error)")
            }
        }
        let requested = sendAt ?? options.now
        var expiresAt = defaults.expiresAt
        var expiresField: MessageInput.Field = .row
        if let text = input.expiresAt, !text.isBlank {
            expiresField = .expiresAt
            do {
                let expires = try Timestamp.parse(text)
                expiresAt = expires
                if expires <= options.now {
                    fail(.expiresAt, "expires_at \(Timestamp.format(expires)) is already past (now is \(Timestamp.format(options.now)))")
                    expiresAt = nil
                }
            } catch {
                fail(.expiresAt, "expires_at: \(error)")
            }
        }
        let due = defaults.window?.nextAllowed(atOrAfter: max(requested, options.now)) ?? max(requested, options.now)
        if let expires = expiresAt {
            if expires < requested {
                fail(expiresField, "expires_at \(Timestamp.format(expires)) is before send_at \(Timestamp.format(requested))")
            } else if due > expires {
                fail(expiresField, "the send window first opens at \(Timestamp.format(due)), after expires_at \(Timestamp.format(expires))")
            }
        }

        var derived = false
        if id == nil, let to, let body {
            var h = FNV1a()
            h.combine(to.address)
            h.combine(bytes: [0x1F])
            h.combine(body)
            h.combine(bytes: [0x1F])
            h.combine(sendAtText ?? "")
            id = h.hex
            derived = true
            for i in errors.indices { errors[i].messageID = id }
        }
        if let id, !seenIDs.insert(FNV1a.hash(id)).inserted {
            fail(derived ? .row : .id, derived
                 ? "duplicate message: an earlier message has the same recipient, body and send_at (derived id \(id))"
                 : "duplicate message id '\(id)' (an earlier message has it)")
        }

        guard errors.isEmpty, let id, let to, let from, let body, let segments else {
            return .failure(MessageErrors(errors: errors))
        }
        return .success(ValidatedMessage(
            externalID: id, idIsDerived: derived, to: to, from: from, body: body, segments: segments,
            sendAt: requested, dueAt: due, expiresAt: expiresAt, source: input.source))
    }
}

/// The errors of one invalid message (possibly none when the cause is a campaign
/// field already reported).
struct MessageErrors: Error {
    var errors: [JobError]
}
