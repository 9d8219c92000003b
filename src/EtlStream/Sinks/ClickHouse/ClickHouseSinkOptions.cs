using EtlStream.Sinks.Sql;

namespace EtlStream.Sinks.ClickHouse;

/// <summary>Where and how <see cref="ClickHouseSink"/> loads.</summary>
internal sealed record ClickHouseSinkOptions : ISqlSinkOptions
{
    /// <summary>The HTTP interface, e.g. <c>http://127.0.0.1:8123/</c>.</summary>
    public required Uri Endpoint { get; init; }

    public required string Database { get; init; }

    /// <summary>Table name, unquoted (the sink quotes it).</summary>
    public required string Table { get; init; }

    public string User { get; init; } = "default";

    /// <summary>Sent as HTTP basic authentication; never printed.</summary>
    public string? Password { get; init; }

    public SqlWriteMode Mode { get; init; } = SqlWriteMode.Append;

    /// <summary>The table's key: a merge deletes the target's rows with the run's keys, then inserts; a table the sink creates is ordered by it.</summary>
    public IReadOnlyList<string> Key { get; init; } = [];

    /// <summary>
    /// When set, each source file the run loads is recorded in the database's <c>_etlstream_ledger</c> right after
    /// the publish (ClickHouse has no transactions: see ClickHouseSink for the window this leaves).
    /// </summary>
    public LedgerStamp? Ledger { get; init; }

    /// <summary>
    /// INSERT requests streaming at once, each chunk fed into an idle one. 2 (the default) lets the server parse and
    /// write parts on two threads: measured 4.5–4.9 s against 5.2–5.8 s with one on the standard job, where the
    /// server shares two cores with the pipeline (perf/results/db-loaders-2000000.md).
    /// </summary>
    public int MaxConcurrency { get; init; } = 2;

    /// <summary>
    /// Rows per chunk handed to an INSERT. A chunk is not a request (the INSERTs stream for the whole run), so small
    /// chunks cost nothing on the wire and keep the batches held in memory few.
    /// </summary>
    public int ChunkRows { get; init; } = 64 * 1024;

    /// <summary>
    /// <c>max_insert_block_size</c>: rows the server forms into one block (one part) of an INSERT; the chunk fits in
    /// one block by default, so each request becomes one part.
    /// </summary>
    public int MaxInsertBlockSize { get; init; } = 1024 * 1024;

    /// <summary>The longest wait for any statement's answer (and for the run's INSERTs to answer once their data is sent).</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>The longest wait to connect and get the first answer: a server that accepts and never answers fails the run.</summary>
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(15);

    /// <summary>Every problem with these options, each naming its option; empty when they are valid.</summary>
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        if (Endpoint is null || !Endpoint.IsAbsoluteUri || (Endpoint.Scheme != Uri.UriSchemeHttp && Endpoint.Scheme != Uri.UriSchemeHttps))
        {
            errors.Add("clickhouse.endpoint: must be an absolute http(s) URL");
        }
        else if (Endpoint.UserInfo.Length > 0)
        {
            errors.Add("clickhouse.endpoint: must not carry credentials (give user and password)");
        }

        if (string.IsNullOrWhiteSpace(Database))
        {
            errors.Add("clickhouse.database: required");
        }

        this.AddLoadErrors("clickhouse", errors);

        if (MaxInsertBlockSize < 1)
        {
            errors.Add($"clickhouse.max_insert_block_size: must be positive, got {MaxInsertBlockSize}");
        }

        return errors;
    }
}
