using System.Text.RegularExpressions;
using DuckDB.NET.Data;

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
public sealed partial record DuckDbSinkOptions
{
    /// <summary>
    /// Why <paramref name="path"/> cannot be a DuckDB database file, or null when it can. A target is a path, never
    /// connection-string text: the path is passed as one quoted value (<see cref="ConnectionString"/>), so <c>;</c>
    /// and quotes in it are just characters, but text that only means something to a connection string
    /// (<c>;Data Source=…</c>) or to DuckDB itself (<c>:memory:</c>, <c>md:</c>, URLs) is refused rather than
    /// loading somewhere the user did not name.
    /// </summary>
    public static string? CheckPath(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (path.Length == 0)
        {
            return "the DuckDB file is empty";
        }

        foreach (var c in path)
        {
            if (char.IsControl(c))
            {
                return $"the DuckDB file '{path}' holds a control character (U+{(int)c:X4}); a file path cannot";
            }
        }

        if (ConnectionStringOption().Match(path) is { Success: true } option)
        {
            return $"the DuckDB file '{path}' holds connection-string text ('{option.Value}'): a target is a file path, never connection-string options (table and mode go after '?')";
        }

        if (path.StartsWith(":memory:", StringComparison.OrdinalIgnoreCase))
        {
            return $"'{path}' is DuckDB's in-memory database, whose rows are gone when the run ends: give a file";
        }

        if (DuckDbSpecialPrefix().Match(path) is { Success: true } prefix)
        {
            return $"the DuckDB file '{path}' starts with '{prefix.Value}', which DuckDB reads as a remote or special database: give a local file path";
        }

        // DuckDB opens the file in place (a link to a database is fine), but a FIFO would wait for a writer and a device
        // or folder is no database.
        if (Csv.FileTargetKind.NonRegularKind(path, followLinks: true) is { } kind)
        {
            return $"the DuckDB file '{path}' is {kind}, not a database file";
        }

        return null;
    }

    /// <summary>The connection string for a database file: the full path as one properly quoted Data Source value.</summary>
    public static string ConnectionString(string path) =>
        new DuckDBConnectionStringBuilder { DataSource = Path.GetFullPath(path) }.ConnectionString;

    // `;name=` is how a connection string sets an option, and a leading `Data Source=` names one; no file name needs either.
    [GeneratedRegex(@";\s*[A-Za-z][A-Za-z _]*\s*=|^\s*data\s*source\s*=", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex ConnectionStringOption();

    // MotherDuck (md:, motherduck:) and URL schemes (s3://, http://…) open something other than a local file.
    [GeneratedRegex(@"^(?:md:|motherduck:|[A-Za-z][A-Za-z0-9+.-]+://)", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex DuckDbSpecialPrefix();

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

    /// <summary>
    /// DuckDB's <c>memory_limit</c>, set on the database when the sink opens it; null: <see cref="MemoryLimitFor"/>.
    /// DuckDB's default (80% of RAM) let its buffer pool keep every block the run wrote: the standard job peaked at
    /// 933 MB for 2 M rows and grew with the rows. Past the limit DuckDB writes blocks out to its temp directory,
    /// <c>&lt;database&gt;.tmp</c> beside the file, which it deletes when the database closes.
    /// </summary>
    public string? MemoryLimit { get; init; }

    /// <summary>
    /// The limit unless one is set: 128 MiB, and 2 MiB per column past 64 columns. An append pins a 256 KiB block per
    /// column and compresses a row group at a time, which cannot spill: DuckDB fails a run whose limit is under it
    /// ("Out of Memory Error: failed to pin block", measured with 8MB and 10 columns), so a fixed limit would refuse
    /// wide tables.
    /// </summary>
    public static string MemoryLimitFor(int columns) =>
        string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{Math.Max(128, 2 * columns)}MiB");

    /// <summary>How <c>explain</c> and the README state <see cref="MemoryLimitFor"/>.</summary>
    public const string DefaultMemoryLimitText = "128MiB, 2MiB per column past 64 columns";

    /// <summary>The column that names each row's source file (a <c>computed: source_file</c> column).</summary>
    public string SourceColumn { get; init; } = "source_file";
}

