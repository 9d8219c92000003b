using EtlStream.Transforms;

namespace EtlStream.Sinks.StarRocks;

/// <summary>Which server speaks the protocol: header names and the two-phase commit endpoints differ.</summary>
public enum StreamLoadDialect
{
    StarRocks,
    Doris,
}

/// <summary>How one source file is made exactly-once.</summary>
public enum StreamLoadMode
{
    /// <summary>
    /// One transaction per source file (StarRocks begin/load×N/prepare/commit; Doris two-phase commit per chunk,
    /// all committed when the file is complete): a file is visible whole or not at all. A chunk that fails aborts the
    /// file's transaction (the server rolls it back); the run fails and a rerun loads the file again.
    /// </summary>
    Transaction,

    /// <summary>
    /// One plain Stream Load per chunk under a deterministic label: each chunk is retried in-run until committed once,
    /// but a file whose run dies half-way is partly visible until the rerun adds the missing chunks.
    /// </summary>
    Label,
}

/// <summary>What a value longer than the LIVE column's VARCHAR length (in UTF-8 bytes) does.</summary>
public enum VarcharOverflowPolicy
{
    /// <summary>The row goes to the rejects callback instead of the load.</summary>
    Reject,

    /// <summary><c>ALTER TABLE ... MODIFY COLUMN</c> to the longest value's length before the load (never shrinking).</summary>
    Widen,
}

/// <summary>
/// Everything the StarRocks/Doris sink needs. Validated once (<see cref="Validate"/>) when the sink is built; the
/// password never appears in anything this sink prints, logs or throws.
/// </summary>
public sealed record StarRocksSinkOptions
{
    /// <summary>The FE's host name or address.</summary>
    public required string Host { get; init; }

    /// <summary>The FE's HTTP port (Stream Load, transactions, <c>get_load_state</c>).</summary>
    public int HttpPort { get; init; } = 8030;

    /// <summary>The FE's MySQL-protocol port (schema checks, widening, init-db); null: no schema access.</summary>
    public int? MySqlPort { get; init; } = 9030;

    public required string Database { get; init; }

    public required string Table { get; init; }

    public required string User { get; init; }

    public string Password { get; init; } = string.Empty;

    /// <summary>
    /// <c>host:port</c> of a BE to send loads to directly, and to rewrite every redirect to: FEs behind NAT or Docker
    /// redirect to addresses the client cannot reach.
    /// </summary>
    public string? BackendAddress { get; init; }

    public bool UseTls { get; init; }

    public StreamLoadDialect Dialect { get; init; } = StreamLoadDialect.StarRocks;

    public StreamLoadMode Mode { get; init; } = StreamLoadMode.Transaction;

    /// <summary>Identifies whose loads these are in every label (a tenant id; <c>default</c> for single-tenant runs).</summary>
    public string Tenant { get; init; } = "default";

    /// <summary>Loads of this table in flight at once.</summary>
    public int MaxConcurrency { get; init; } = 2;

    /// <summary>
    /// Transaction mode: files with a transaction open at once in this sink (<c>max_txns</c>, default 8). Keep it at or
    /// below what the database leaves free of StarRocks' <c>max_running_txn_num_per_db</c> (1000; 100 before 3.1).
    /// The pipeline reads at most one file fewer at once (<see cref="StarRocksSink.MaxFilesInFlight"/>), so whenever a
    /// file waits for a transaction, one is held by a file whose chunks have all arrived and which will commit without
    /// needing a load slot: an open transaction never waits behind files that have not begun. Doris: each chunk is a
    /// pre-committed transaction, so this bounds files, not Doris transactions.
    /// </summary>
    public int MaxTransactions { get; init; } = 8;

    /// <summary>Loads in flight across every sink sharing this budget (null: only <see cref="MaxConcurrency"/> limits).</summary>
    public StreamLoadSlots? SharedSlots { get; init; }

    /// <summary>Rows per load at most.</summary>
    public int ChunkRows { get; init; } = 2_000_000;

    /// <summary>Arrow bytes per load at most (the StarRocks Flink connector flushes at 90 MB): fewer, larger loads avoid "too many versions".</summary>
    public long ChunkBytes { get; init; } = 90L * 1024 * 1024;

    /// <summary>The share of a load's rows the server may filter before it fails the load (0..1).</summary>
    public double MaxFilterRatio { get; init; }

    /// <summary>On: a value that fails conversion filters its row; off: it loads as NULL.</summary>
    public bool StrictMode { get; init; }

    /// <summary>The server-side load (and transaction) timeout, in seconds.</summary>
    public int TimeoutSeconds { get; init; } = 600;

    /// <summary>
    /// The target's <c>timeout=</c> on the client side: how long any one wait may last (a reply, a slice of a body the
    /// server stopped reading, a statement on the MySQL port) before the server counts as not answering and the
    /// outcome as unknown. A body's wait for its reply starts once the body is sent.
    /// </summary>
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromSeconds(SinkTarget.DefaultTimeoutSeconds);

    /// <summary>
    /// The target's <c>connect_timeout=</c>: to connect, log in on the MySQL port, and get the FE's first HTTP answer
    /// when the sink opens.
    /// </summary>
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(SinkTarget.DefaultConnectTimeoutSeconds);

    /// <summary>How long the client waits for <c>100 Continue</c> (.NET's default of 1 s lets the body flow to the FE).</summary>
    public TimeSpan Expect100ContinueTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Tries per request (the first included) before the load fails.</summary>
    public int MaxAttempts { get; init; } = 8;

    public TimeSpan BackoffBase { get; init; } = TimeSpan.FromMilliseconds(500);

    public TimeSpan BackoffCap { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>How often <c>get_load_state</c> is asked about a running label, and for how long at most.</summary>
    public TimeSpan PollInterval { get; init; } = TimeSpan.FromSeconds(1);

    public TimeSpan PollLimit { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>For string columns whose spec names no <c>overflow</c> policy (a spec column's own policy wins).</summary>
    public VarcharOverflowPolicy Overflow { get; init; } = VarcharOverflowPolicy.Reject;

    /// <summary>
    /// Where began-but-unfinished transaction labels are recorded, so that the next start rolls them back: StarRocks
    /// has no HTTP call that lists a prefix's open transactions. Null: a folder under the user's local app data.
    /// </summary>
    public string? StateDirectory { get; init; }

    /// <summary>Receives rows the server filtered (from the load's error URL) and rows rejected for VARCHAR overflow.</summary>
    public Func<IReadOnlyList<RejectedRow>, CancellationToken, ValueTask>? OnRejected { get; init; }

    /// <summary>Every problem, each with the option it concerns; empty when the options can be used.</summary>
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        if (string.IsNullOrWhiteSpace(Host))
        {
            errors.Add("host: empty");
        }

        if (HttpPort is < 1 or > 65535)
        {
            errors.Add($"http_port: {HttpPort} is not a port");
        }

        if (MySqlPort is < 1 or > 65535)
        {
            errors.Add($"mysql_port: {MySqlPort} is not a port");
        }

        foreach (var (name, value) in new[] { ("database", Database), ("table", Table) })
        {
            if (StarRocksSql.IdentifierProblem(value) is { } problem)
            {
                errors.Add($"{name}: {problem}");
            }
        }

        if (string.IsNullOrWhiteSpace(User))
        {
            errors.Add("user: empty");
        }

        if (BackendAddress is not null && !TrySplitHostPort(BackendAddress, out _, out _))
        {
            errors.Add($"be: '{BackendAddress}' is not host:port");
        }

        if (MaxConcurrency < 1)
        {
            errors.Add($"concurrency: {MaxConcurrency} must be at least 1");
        }

        if (MaxTransactions < 2)
        {
            errors.Add($"max_txns: {MaxTransactions} must be at least 2 (one file loading and one spare transaction)");
        }

        if (ChunkRows < 1 || ChunkBytes < 1024)
        {
            errors.Add("chunk size: at least 1 row and 1 KiB");
        }

        if (MaxFilterRatio is < 0 or > 1 || double.IsNaN(MaxFilterRatio))
        {
            errors.Add($"max_filter_ratio: {MaxFilterRatio} is not in 0..1");
        }

        if (TimeoutSeconds < 1 || RequestTimeout <= TimeSpan.Zero || ConnectTimeout <= TimeSpan.Zero || Expect100ContinueTimeout <= TimeSpan.Zero)
        {
            errors.Add("timeouts must be positive");
        }

        if (MaxAttempts < 1 || BackoffBase < TimeSpan.Zero || BackoffCap < BackoffBase || PollInterval <= TimeSpan.Zero)
        {
            errors.Add("retry: attempts ≥ 1, 0 ≤ backoff base ≤ cap, poll interval > 0");
        }

        if (string.IsNullOrWhiteSpace(Tenant))
        {
            errors.Add("tenant: empty");
        }

        return errors;
    }

    /// <summary>The FE's HTTP port as messages name it: <c>starrocks 127.0.0.1:8030</c> (<c>doris …</c>).</summary>
    internal string FrontendName => Named(string.Empty, Host, HttpPort);

    /// <summary>The FE's MySQL port as messages name it: <c>starrocks fe mysql 127.0.0.1:9030</c>.</summary>
    internal string MySqlName => Named("fe mysql ", Host, MySqlPort ?? 0);

    /// <summary>A BE as messages name it: <c>starrocks be 127.0.0.1:8040</c>.</summary>
    internal string BackendName(string host, int port) => Named("be ", host, port);

    private string Named(string role, string host, int port) =>
        string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{(Dialect == StreamLoadDialect.Doris ? "doris" : "starrocks")} {role}{host}:{port}");

    /// <summary>Scrubs the password from a text a server or driver may have echoed it in (an error, a reply).</summary>
    internal string Redact(string text) => Password.Length > 0 ? text.Replace(Password, "***", StringComparison.Ordinal) : text;

    /// <summary>Seconds as the messages and the target write them (<c>2</c>, <c>1.5</c>).</summary>
    internal static string Seconds(TimeSpan span) => span.TotalSeconds.ToString("0.###", System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>The FE (or BE) base address for HTTP calls.</summary>
    internal Uri FrontendUri => new($"{(UseTls ? "https" : "http")}://{Host}:{HttpPort}");

    internal static bool TrySplitHostPort(string address, out string host, out int port)
    {
        host = string.Empty;
        port = 0;
        var colon = address.LastIndexOf(':');
        if (colon <= 0 || !int.TryParse(address.AsSpan(colon + 1), out port) || port is < 1 or > 65535)
        {
            return false;
        }

        host = address[..colon];
        return true;
    }

    /// <summary>Never prints the password (records print every property by default).</summary>
    public override string ToString() =>
        $"{Dialect} {User}@{Host}:{HttpPort}/{Database}.{Table} mode={Mode} concurrency={MaxConcurrency} max_txns={MaxTransactions}";
}

/// <summary>A budget of loads in flight shared by several sinks (e.g. every table of a tenant's job).</summary>
public sealed class StreamLoadSlots(int slots) : IDisposable
{
    private readonly SemaphoreSlim _gate = new(slots, slots);

    public int Slots { get; } = slots;

    internal Task WaitAsync(CancellationToken cancellationToken) => _gate.WaitAsync(cancellationToken);

    internal void Release() => _gate.Release();

    public void Dispose() => _gate.Dispose();
}
