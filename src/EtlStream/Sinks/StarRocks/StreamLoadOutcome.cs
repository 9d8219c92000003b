namespace EtlStream.Sinks.StarRocks;

/// <summary>What a client does next with a Stream Load reply.</summary>
public enum StreamLoadDecision
{
    /// <summary>Committed (now or by an earlier try with the same label): done, never re-sent.</summary>
    Committed,

    /// <summary>An earlier try with this label is still running: poll <c>get_load_state</c> until it ends.</summary>
    PollLabel,

    /// <summary>The outcome is unknown (transport error, timeout, unparseable reply): ask <c>get_load_state</c> before any re-send.</summary>
    Unknown,

    /// <summary>Not committed and worth another try with the same label, after a backoff.</summary>
    Retry,

    /// <summary>Not committed, and another try would fail the same way (bad data, bad credentials, bad request).</summary>
    Fail,
}

/// <summary>A classified reply: the decision, the reason in words, and the parsed reply when there was one.</summary>
internal readonly record struct StreamLoadOutcome(StreamLoadDecision Decision, string Reason, StreamLoadResponse? Response = null)
{
    /// <summary>Rows were filtered: the reply's error URL lists them.</summary>
    public bool HasFilteredRows => Response is { NumberFilteredRows: > 0 } || (Response?.ErrorURL is { Length: > 0 });

    /// <summary>Retry only after a longer pause: the cluster said it is busy.</summary>
    public bool Busy { get; init; }

    /// <summary>
    /// <see cref="StreamLoadDecision.Committed"/> before this request, by an earlier try or run under the same label
    /// (<c>Label Already Exists</c> + <c>FINISHED</c>, or <c>get_load_state</c>): nothing was loaded now, and nothing is sent again.
    /// </summary>
    public bool AlreadyCommitted { get; init; }
}
