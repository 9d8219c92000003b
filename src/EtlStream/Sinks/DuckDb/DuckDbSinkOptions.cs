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

    /// <summary>
    /// When set, every source file the run loads is recorded in the database's <c>_etlstream_ledger</c> table in the
    /// same transaction as its rows: the truth a load ledger heals from after a crash between commit and bookkeeping.
    /// </summary>
    public LedgerStamp? Ledger { get; init; }

    /// <summary>
    /// File names (as the table's <see cref="SourceColumn"/> holds them) whose earlier rows are deleted in the
    /// run's transaction before its rows land: re-uploaded files under <c>on_changed: replace_partition</c>.
    /// </summary>
    public IReadOnlyList<string> ReplaceSources { get; init; } = [];

    /// <summary>The column that names each row's source file (a <c>computed: source_file</c> column).</summary>
    public string SourceColumn { get; init; } = "source_file";
}

