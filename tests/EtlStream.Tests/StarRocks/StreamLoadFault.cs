namespace EtlStream.Tests.StarRocks;

/// <summary>What the protocol server does wrong, on purpose, to one request.</summary>
public enum StreamLoadFaultKind
{
    /// <summary>No fault: lets one matching request through, to place the next fault later in a run.</summary>
    None,

    /// <summary>The body is read, then the connection is reset: nothing was committed.</summary>
    ResetBeforeCommit,

    /// <summary>The load is committed, then the connection is reset instead of the reply.</summary>
    ResetAfterCommit,

    /// <summary>The load is committed, and the reply waits <see cref="StreamLoadFault.Delay"/> (past the client's timeout).</summary>
    SlowReply,

    /// <summary>HTTP 503 before anything is read or committed.</summary>
    ServiceUnavailable,

    /// <summary>The load is committed and the reply says <c>Publish Timeout</c>.</summary>
    PublishTimeout,

    /// <summary><c>Stream Load exceed http cuncurrent limit</c> (sic), before anything is read.</summary>
    ConcurrencyLimit,

    /// <summary>
    /// The reply says <c>Label Already Exists</c> + <c>RUNNING</c> while the body is held in an open transaction;
    /// <c>get_load_state</c> answers <c>PREPARE</c> for <see cref="StreamLoadFault.Polls"/> polls, then the held load
    /// commits (<c>VISIBLE</c>) or, with <see cref="StreamLoadFault.ThenCommits"/> false, aborts (<c>ABORTED</c>).
    /// </summary>
    LabelRunning,
}

/// <summary>A fault for the next request whose path contains <see cref="PathContains"/>.</summary>
public sealed record StreamLoadFault(StreamLoadFaultKind Kind, string PathContains = "load")
{
    public TimeSpan Delay { get; init; } = TimeSpan.FromSeconds(3);

    public int Polls { get; init; } = 2;

    public bool ThenCommits { get; init; } = true;
}
