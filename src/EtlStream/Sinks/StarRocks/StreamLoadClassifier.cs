namespace EtlStream.Sinks.StarRocks;

/// <summary>
/// The one place a Stream Load reply becomes a decision, exactly as the table in STREAMLOAD.md says. Pure: the
/// HTTP status and body in, a <see cref="StreamLoadOutcome"/> out, so every row of that table is a unit test.
/// Statuses are compared case-insensitively: a connector once read <c>FAILED</c> as success and lost data.
/// </summary>
internal static class StreamLoadClassifier
{
    /// <summary>Messages after which another try with the same data would fail the same way.</summary>
    private static readonly string[] Permanent =
    [
        "too many filtered rows",
        "access denied",
        "primary key size exceed the limit",
        "there is no 100-continue header",
        "exceed limit", // body size cap: the same body is as big next time
        "is invalid", // a label or header the server rejects
        "unknown column",
        "txn_not_exists",
        "does not exist", // database or table
    ];

    /// <summary>Messages that say the cluster is busy: retry, but after a longer pause.</summary>
    private static readonly string[] Busy =
    [
        "exceed http cuncurrent limit", // (sic) as the BE spells it
        "exceed http concurrent limit",
        "current running txns on db",
        "txn_in_processing",
        "too many versions",
    ];

    /// <summary>Classifies a reply to a load (<c>_stream_load</c>, <c>transaction/load</c>) or transaction request.</summary>
    /// <param name="httpStatus">The HTTP status; null when there was no reply (reset, timeout): the outcome is unknown.</param>
    public static StreamLoadOutcome Classify(int? httpStatus, string? body)
    {
        if (httpStatus is null)
        {
            return new(StreamLoadDecision.Unknown, "no reply");
        }

        if (httpStatus == 401 || httpStatus == 403)
        {
            return new(StreamLoadDecision.Fail, $"HTTP {httpStatus}: access denied");
        }

        var reply = StreamLoadResponse.TryParse(body);
        if (httpStatus != 200)
        {
            // A non-200 from a BE may follow a commit (a proxy's 502 after the load finished): never re-send blind.
            return reply is not null && ContainsAny(reply.Text, Busy)
                ? new(StreamLoadDecision.Retry, $"HTTP {httpStatus}: {reply.Text}", reply) { Busy = true }
                : new(StreamLoadDecision.Unknown, $"HTTP {httpStatus}", reply);
        }

        if (reply is null)
        {
            // A success we cannot read must not be re-sent blind (duplicates): the label state decides.
            return new(StreamLoadDecision.Unknown, "unparseable reply");
        }

        var status = reply.Status?.Trim() ?? string.Empty;
        if (Is(status, "Success") || Is(status, "OK") || Is(status, "Publish Timeout"))
        {
            return new(StreamLoadDecision.Committed, status, reply);
        }

        if (Is(status, "Label Already Exists") || Is(status, "LABEL_ALREADY_EXISTS"))
        {
            var existing = reply.ExistingJobStatus?.Trim().ToUpperInvariant();
            return existing switch
            {
                "FINISHED" or "VISIBLE" or "COMMITTED" => new(StreamLoadDecision.Committed, $"label already exists ({existing})", reply) { AlreadyCommitted = true },
                "RUNNING" or "PREPARE" or "PREPARED" or "PRECOMMITTED" or "LOADING" => new(StreamLoadDecision.PollLabel, $"label already exists ({existing})", reply),
                _ => new(StreamLoadDecision.Unknown, $"label already exists ({existing ?? "no job status"})", reply),
            };
        }

        if (Is(status, "Fail") || Is(status, "FAILED"))
        {
            var message = reply.Text;
            if (ContainsAny(message, Busy))
            {
                return new(StreamLoadDecision.Retry, message, reply) { Busy = true };
            }

            return ContainsAny(message, Permanent)
                ? new(StreamLoadDecision.Fail, message, reply)
                : new(StreamLoadDecision.Retry, message, reply);
        }

        if (Is(status, "TXN_IN_PROCESSING"))
        {
            return new(StreamLoadDecision.Retry, status, reply) { Busy = true };
        }

        // A status this table does not know: whether it committed is unknown, so the label state decides.
        return new(StreamLoadDecision.Unknown, $"unknown status '{status}'", reply);
    }

    /// <summary>Classifies a <c>get_load_state</c> label state.</summary>
    public static StreamLoadDecision ClassifyLabelState(string? state) => state?.Trim().ToUpperInvariant() switch
    {
        "VISIBLE" or "COMMITTED" or "FINISHED" => StreamLoadDecision.Committed,
        "PREPARE" or "PREPARED" or "PRECOMMITTED" or "RUNNING" or "LOADING" => StreamLoadDecision.PollLabel,

        // ABORTED, CANCELLED or UNKNOWN (no such label): nothing was committed, the same label may be re-sent.
        "ABORTED" or "CANCELLED" or "UNKNOWN" => StreamLoadDecision.Retry,
        _ => StreamLoadDecision.Unknown,
    };

    private static bool Is(string status, string expected) => status.Equals(expected, StringComparison.OrdinalIgnoreCase);

    private static bool ContainsAny(string text, string[] parts)
    {
        foreach (var p in parts)
        {
            if (text.Contains(p, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        return false;
    }
}
