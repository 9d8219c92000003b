using EtlStream.Sinks.Sql;

namespace EtlStream.Sinks.MySql;

/// <summary>Where and how <see cref="MySqlSink"/> loads.</summary>
internal sealed record MySqlSinkOptions : ISqlSinkOptions
{
    /// <summary>A MySqlConnector connection string naming the database. It may hold a password: it is never printed.</summary>
    public required string ConnectionString { get; init; }

    /// <summary>Table name, unquoted (the sink quotes it).</summary>
    public required string Table { get; init; }

    public SqlWriteMode Mode { get; init; } = SqlWriteMode.Append;

    /// <summary>The table's key (merge matches rows by it; a table the sink creates gets it as its primary key).</summary>
    public IReadOnlyList<string> Key { get; init; } = [];

    /// <summary>
    /// When set, each source file the run loads is recorded in the database's <c>_etlstream_ledger</c> in the
    /// transaction that publishes its rows (appends and merges; a refresh's rename commits on its own, see MySqlSink).
    /// </summary>
    public LedgerStamp? Ledger { get; init; }

    /// <summary>
    /// <c>LOAD DATA LOCAL INFILE</c> streams running at once, each on its own connection. 1 (the default) appends straight into an existing table in
    /// one transaction; more load a staging table concurrently and copy it in at the end, which measured slower on the
    /// standard job (perf/db-loaders.sh: the copy costs more than the second connection gains on 2 cores).
    /// </summary>
    public int MaxConcurrency { get; init; } = 1;

    public int ChunkRows { get; init; } = 128 * 1024;

    /// <summary>Every problem with these options, each naming its option; empty when they are valid.</summary>
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        if (string.IsNullOrWhiteSpace(ConnectionString))
        {
            errors.Add("mysql.connection_string: required");
        }

        this.AddLoadErrors("mysql", errors);

        return errors;
    }
}
