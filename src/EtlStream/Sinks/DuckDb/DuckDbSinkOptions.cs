namespace EtlStream.Sinks.DuckDb;

/// <summary>What a run does to rows already in the target table.</summary>
public enum DuckDbWriteMode
{
    /// <summary>Adds the run's rows; the table must have the batches' columns and types.</summary>
    Append,

    /// <summary>Full refresh: the table is dropped and recreated from the batches' schema, then loaded, in one transaction.</summary>
    Replace,

    /// <summary>Incremental by key: rows whose <see cref="DuckDbSinkOptions.Key"/> the run brings are replaced, the rest added, in one transaction.</summary>
    Merge,
}

/// <summary>Where and how <see cref="DuckDbSink"/> loads.</summary>
public sealed record DuckDbSinkOptions
{
    /// <summary>DuckDB database file; created, with its folders, when missing.</summary>
    public required string DatabasePath { get; init; }

    /// <summary>Table name in the database's default schema, unquoted (it is quoted by the sink).</summary>
    public required string Table { get; init; }

    public DuckDbWriteMode Mode { get; init; } = DuckDbWriteMode.Append;

    /// <summary>The key columns a <see cref="DuckDbWriteMode.Merge"/> matches rows on.</summary>
    public IReadOnlyList<string> Key { get; init; } = [];
}
