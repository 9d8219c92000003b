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

    /// <summary>The column that names each row's source file (a <c>computed: source_file</c> column).</summary>
    public string SourceColumn { get; init; } = "source_file";
}

