using EtlStream.Sinks.Sql;

namespace EtlStream.Sinks.Postgres;

/// <summary>Where and how <see cref="PostgresSink"/> loads.</summary>
internal sealed record PostgresSinkOptions : ISqlSinkOptions
{
    /// <summary>An Npgsql connection string. It may hold a password: it is never printed.</summary>
    public required string ConnectionString { get; init; }

    /// <summary>Table name, unquoted (the sink quotes it).</summary>
    public required string Table { get; init; }

    /// <summary>The schema the table (and the run's staging table) is in.</summary>
    public string Schema { get; init; } = "public";

    public SqlWriteMode Mode { get; init; } = SqlWriteMode.Append;

    /// <summary>The table's key (merge matches rows by it; a table the sink creates gets it as its primary key).</summary>
    public IReadOnlyList<string> Key { get; init; } = [];

    /// <summary>
    /// Binary COPYs running at once, each on its own connection. 1 (the default) appends straight into an existing table in
    /// one transaction; more load a staging table concurrently and copy it in at the end, which measured slower on the
    /// standard job (perf/db-loaders.sh: the copy costs more than the second connection gains on 2 cores).
    /// </summary>
    public int MaxConcurrency { get; init; } = 1;

    public int ChunkRows { get; init; } = 32 * 1024;

    /// <summary>
    /// When set, each source file the run loads is recorded in <c>&lt;schema&gt;._etlstream_ledger</c> in the same
    /// transaction that publishes its rows, for a load ledger to heal from after a crash between commit and booking.
    /// </summary>
    public LedgerStamp? Ledger { get; init; }

    /// <summary>Every problem with these options, each naming its option; empty when they are valid.</summary>
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        if (string.IsNullOrWhiteSpace(ConnectionString))
        {
            errors.Add("postgres.connection_string: required");
        }

        if (string.IsNullOrWhiteSpace(Schema))
        {
            errors.Add("postgres.schema: required");
        }

        this.AddLoadErrors("postgres", errors);

        return errors;
    }
}
