using Apache.Arrow;
using EtlStream.Tables;

namespace EtlStream.Sinks.Sql;

/// <summary>What a run does to the rows already in a database sink's table.</summary>
public enum SqlWriteMode
{
    /// <summary>Adds the run's rows; an existing table must have the data's columns and types.</summary>
    Append,

    /// <summary>The evening full refresh: the table's content becomes the run's rows, swapped in atomically at the end.</summary>
    Replace,

    /// <summary>
    /// An upsert by the table's key, as the DuckDB sink merges: rows whose key the run brings are replaced by the run's
    /// row, the others are added. The run may hold each key once (<see cref="DuplicateKeyException"/>).
    /// </summary>
    Merge,
}

/// <summary>A keyed load's rows hold a key more than once: nothing was published.</summary>
public sealed class DuplicateKeyException(string message) : InvalidOperationException(message);

/// <summary>The state of the target table when the run started, which decides how the staged rows are published.</summary>
internal enum TargetTableState
{
    /// <summary>No such table: the staging table becomes it.</summary>
    Missing,

    /// <summary>It has the data's columns and types.</summary>
    Matching,

    /// <summary>It differs (replace mode only; append fails on drift): it is replaced by the staging table.</summary>
    Different,
}

/// <summary>
/// The load protocol every server sink shares: in <see cref="OpenAsync"/> the live table is read back and compared
/// with the data (drift fails an append before any row is loaded), then the run's rows go, with up to
/// <see cref="MaxConcurrency"/> bulk loads at once, into a staging table of their own, never into the target; only
/// <see cref="CompleteAsync"/> publishes them (append: one <c>INSERT … SELECT</c>; replace: a swap), and a run
/// disposed without completing just drops its staging table. Concurrent bulk loads therefore need no shared
/// transaction, and a failed run leaves the target as it was. Subclasses supply the connection, the bulk path and
/// the dialect's publish statements.
/// </summary>
internal abstract class SqlStagedSink : IBatchSink
{
    private readonly System.Collections.Concurrent.ConcurrentDictionary<Sources.SourceFile, long> _rowsBySource = new(ReferenceEqualityComparer.Instance);
    private readonly List<(Sources.SourceFile File, long Rows)> _filesWritten = [];

    private long _rowsWritten;
    private bool _staged;
    private bool _published;
    private bool _direct;

    /// <param name="key">The table's key columns: required for <see cref="SqlWriteMode.Merge"/>; with any mode, a table the
    /// sink creates gets it (<see cref="SqlDialect.KeyConstraint"/>) and the run's rows must hold each key once.</param>
    /// <param name="options">Validated here: every problem fails construction in one <see cref="ArgumentException"/>.</param>
    protected SqlStagedSink(SqlDialect dialect, ISqlSinkOptions options)
    {
        ArgumentNullException.ThrowIfNull(dialect);
        SqlSinkOptions.Checked(options);
        dialect.ValidateIdentifier(options.Table);
        Key = [.. options.Key];
        foreach (var column in Key)
        {
            dialect.ValidateIdentifier(column);
        }

        Dialect = dialect;
        Table = options.Table;
        Mode = options.Mode;
        MaxConcurrency = options.MaxConcurrency;
        PreferredChunkRows = options.ChunkRows;

        // Unique per run, so concurrent runs into one table never share a staging table; short enough for any dialect.
        var run = Guid.NewGuid().ToString("N")[..12];
        StagingTable = $"_etlstream_{run}_stage";
        RetiredTable = $"_etlstream_{run}_old";
    }

    public int MaxConcurrency { get; }

    public int PreferredChunkRows { get; }

    /// <summary>Rows bulk-loaded so far in this run (into staging; published by <see cref="CompleteAsync"/>).</summary>
    public long RowsWritten => Interlocked.Read(ref _rowsWritten);

    /// <summary>How the live table differed from the data when a replace run started (none when it matched or was missing).</summary>
    public TableDrift? ReplacedDrift { get; private set; }

    protected SqlDialect Dialect { get; }

    /// <summary>The target table's unquoted name.</summary>
    protected string Table { get; }

    protected SqlWriteMode Mode { get; }

    /// <summary>The table's key columns as the options name them (empty: not keyed).</summary>
    protected IReadOnlyList<string> Key { get; }

    /// <summary>The key columns, quoted and comma separated.</summary>
    protected string KeyList => string.Join(", ", Key.Select(Dialect.Quote));

    /// <summary>The columns outside the key, in table order: what a merge updates.</summary>
    protected IEnumerable<SqlColumn> NonKeyColumns => Columns.Where(c => !Key.Contains(c.Name, StringComparer.OrdinalIgnoreCase));

    /// <summary>The run's staging table (unquoted), in the target's database or schema.</summary>
    protected string StagingTable { get; }

    /// <summary>The name the old table briefly takes in a rename swap (unquoted).</summary>
    protected string RetiredTable { get; }

    protected Schema Schema { get; private set; } = null!;

    protected SqlColumn[] Columns { get; private set; } = [];

    protected TargetTableState TargetState { get; private set; }

    /// <summary>
    /// True when the run loads straight into the target inside one transaction of the subclass (see
    /// <see cref="LoadsDirectly"/>) instead of into <see cref="StagingTable"/>.
    /// </summary>
    protected bool Direct => _direct;

    /// <summary>The table bulk loads go into: the staging table, or the target itself when <see cref="Direct"/>.</summary>
    protected string LoadTable => _direct ? Table : StagingTable;

    /// <summary>Where the table is, for messages: <c>PostgreSQL table "public"."t"</c>.</summary>
    protected string Describe => $"{Dialect.Name} table {Qualify(Table)}";

    public async ValueTask OpenAsync(Schema schema, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(schema);
        if (_staged)
        {
            throw new InvalidOperationException($"The {Dialect.Name} sink is already open.");
        }

        Schema = schema;
        Columns = Dialect.ColumnsOf(schema);
        foreach (var name in Key)
        {
            // A key is what identifies a row: a column the data lacks, or a NULL in it, could match nothing.
            var column = Columns.FirstOrDefault(c => string.Equals(c.Name, name, StringComparison.OrdinalIgnoreCase))
                ?? throw new ArgumentException($"{Describe}: key column \"{name}\" is not a column of the data");
            if (column.Nullable)
            {
                throw new ArgumentException($"{Describe}: key column \"{name}\" is nullable in the data; a key column must be nullable: false");
            }
        }

        await ConnectAsync(cancellationToken).ConfigureAwait(false);
        var live = await ReadLiveColumnsAsync(Table, cancellationToken).ConfigureAwait(false);
        if (live is null)
        {
            TargetState = TargetTableState.Missing;
        }
        else
        {
            var evolve = Mode != SqlWriteMode.Replace && schema.Metadata?.GetValueOrDefault(ArrowTypes.SchemaDriftKey) == "evolve";
            var drift = TableDrift.Compare(Columns, live, Dialect, evolve);
            if (Mode != SqlWriteMode.Replace && drift.Differences.Count > 0)
            {
                throw new TableDriftException(Describe, drift);
            }

            if (Mode == SqlWriteMode.Merge && Dialect.KeyIsUnique)
            {
                await CheckLiveKeyAsync(cancellationToken).ConfigureAwait(false);
            }

            foreach (var column in drift.ColumnsToAdd)
            {
                // New nullable source columns (schema_drift: evolve): old rows read NULL, as in the DuckDB sink.
                await ExecuteAsync(Dialect.AddColumnSql(Qualify(Table), column), cancellationToken).ConfigureAwait(false);
            }

            TargetState = drift.Differences.Count == 0 ? TargetTableState.Matching : TargetTableState.Different;
            ReplacedDrift = drift.Differences.Count == 0 ? null : drift;
        }

        _staged = true;
        _direct = LoadsDirectly(TargetState);
        if (_direct)
        {
            await BeginDirectAsync(cancellationToken).ConfigureAwait(false);
        }
        else
        {
            await ExecuteAsync(CreateStagingSql(), cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// The statement that makes the run's staging table; <see cref="TargetState"/> is known by then. A keyed table's
    /// staging gets the key only where the key enforces nothing (see <see cref="SqlDialect.KeyIsUnique"/>).
    /// </summary>
    protected virtual string CreateStagingSql() =>
        Dialect.CreateTableSql(Qualify(StagingTable), Columns, staging: true, key: Dialect.KeyIsUnique ? null : Key);

    public async ValueTask WriteAsync(SinkChunk chunk, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(chunk);
        if (!_staged || _published)
        {
            throw new InvalidOperationException($"The {Dialect.Name} sink is not open.");
        }

        if (chunk.Rows == 0)
        {
            return;
        }

        foreach (var batch in chunk.Batches)
        {
            if (batch.ColumnCount != Columns.Length)
            {
                throw new ArgumentException($"Batch has {batch.ColumnCount} columns, {Describe} has {Columns.Length}.", nameof(chunk));
            }
        }

        await BulkLoadAsync(chunk, cancellationToken).ConfigureAwait(false);
        Interlocked.Add(ref _rowsWritten, chunk.Rows);
        if (chunk.Source is { } source)
        {
            _rowsBySource.AddOrUpdate(source, chunk.Rows, (_, n) => n + chunk.Rows);
        }
    }

    /// <summary>Remembers the file and its rows: a sink with a target-side ledger writes them when it publishes.</summary>
    public ValueTask FileCompleteAsync(Sources.SourceFile file, int chunks, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(file);
        _rowsBySource.TryRemove(file, out var rows);
        lock (_filesWritten)
        {
            _filesWritten.Add((file, rows));
        }

        return ValueTask.CompletedTask;
    }

    /// <summary>The source files every chunk of which was written, with their rows, in completion order.</summary>
    protected IReadOnlyList<(Sources.SourceFile File, long Rows)> FilesWritten
    {
        get
        {
            lock (_filesWritten)
            {
                return [.. _filesWritten];
            }
        }
    }

    public async ValueTask CompleteAsync(CancellationToken cancellationToken)
    {
        if (!_staged || _published)
        {
            throw new InvalidOperationException($"The {Dialect.Name} sink is not open.");
        }

        await FinishBulkLoadAsync(cancellationToken).ConfigureAwait(false);
        if (Key.Count > 0 && !_direct)
        {
            await CheckDuplicateKeysAsync(cancellationToken).ConfigureAwait(false);
        }

        await PublishAsync(cancellationToken).ConfigureAwait(false);
        _published = true;
    }

    /// <summary>
    /// Fails, naming the first duplicate key, when the staged rows hold a key more than once. A merge would otherwise
    /// depend on which of the rows the database met last (MySQL keeps the last scanned, PostgreSQL refuses to update
    /// a row twice, ClickHouse keeps both): there is no "last" row in rows loaded by concurrent chunks, so the run
    /// is refused and the target keeps its content.
    /// </summary>
    private async Task CheckDuplicateKeysAsync(CancellationToken cancellationToken)
    {
        var row = await QueryFirstRowAsync(
            $"SELECT {KeyList}, count(*) FROM {Qualify(StagingTable)} GROUP BY {KeyList} HAVING count(*) > 1 LIMIT 1", cancellationToken).ConfigureAwait(false);
        if (row is not null)
        {
            var names = string.Join(", ", Key);
            var values = string.Join(", ", row.Take(Key.Count).Select(v => v is null ? "NULL" : Dialect.Literal(v)));
            throw new DuplicateKeyException(
                $"{Describe}: the run's rows hold key ({names}) = ({values}) {row[Key.Count]} times; a table keyed by ({names}) takes one row per key, so nothing was published.");
        }
    }

    /// <summary>A merge matches rows by the target's primary key: without one it would add duplicates or fail in the database.</summary>
    private async Task CheckLiveKeyAsync(CancellationToken cancellationToken)
    {
        var live = await ReadPrimaryKeyAsync(Table, cancellationToken).ConfigureAwait(false);
        if (live.Count != Key.Count || !live.Zip(Key).All(p => string.Equals(p.First, p.Second, StringComparison.OrdinalIgnoreCase)))
        {
            var has = live.Count == 0 ? "it has none" : $"it has ({string.Join(", ", live)})";
            throw new InvalidOperationException(
                $"{Describe}: merge matches rows by the primary key ({string.Join(", ", Key)}), and {has}: create the table with init-db, or add the key (ALTER TABLE {Qualify(Table)} ADD PRIMARY KEY ({KeyList})).");
        }
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (_staged && !_published && !_direct)
            {
                try
                {
                    await ExecuteAsync($"DROP TABLE IF EXISTS {Qualify(StagingTable)}", CancellationToken.None).ConfigureAwait(false);
                }
                catch (Exception e) when (IsDatabaseError(e))
                {
                    // The run is being abandoned: failing to tidy its staging table (never visible as the target)
                    // must not hide the error that abandoned it.
                }
            }
        }
        finally
        {
            await DisconnectAsync().ConfigureAwait(false);
            GC.SuppressFinalize(this);
        }
    }

    /// <summary>
    /// Whether this run may skip staging and load into the target in one transaction of its own (opened by
    /// <see cref="BeginDirectAsync"/>, committed by <see cref="PublishAsync"/>, rolled back by
    /// <see cref="DisconnectAsync"/>): only possible for a database with transactional bulk loads and one load at a time.
    /// </summary>
    protected virtual bool LoadsDirectly(TargetTableState state) => false;

    protected virtual Task BeginDirectAsync(CancellationToken cancellationToken) =>
        throw new NotSupportedException($"{Dialect.Name} does not load directly.");

    /// <summary>A table name quoted and qualified with the sink's database or schema.</summary>
    protected abstract string Qualify(string table);

    protected abstract Task ConnectAsync(CancellationToken cancellationToken);

    protected abstract ValueTask DisconnectAsync();

    /// <summary>The table's columns as the catalog reports them, in order; null when there is no such table.</summary>
    protected abstract Task<IReadOnlyList<SqlColumn>?> ReadLiveColumnsAsync(string table, CancellationToken cancellationToken);

    protected abstract Task ExecuteAsync(string sql, CancellationToken cancellationToken);

    /// <summary>The first row of a query as text (null values as null), or null when it returns no row.</summary>
    protected abstract Task<IReadOnlyList<string?>?> QueryFirstRowAsync(string sql, CancellationToken cancellationToken);

    /// <summary>The table's primary key columns in key order (empty: none). Only asked where <see cref="SqlDialect.KeyIsUnique"/>.</summary>
    protected virtual Task<IReadOnlyList<string>> ReadPrimaryKeyAsync(string table, CancellationToken cancellationToken) =>
        Task.FromResult<IReadOnlyList<string>>([]);

    /// <summary>Bulk-loads one chunk into <see cref="LoadTable"/>; called up to <see cref="MaxConcurrency"/> times at once.</summary>
    protected abstract Task BulkLoadAsync(SinkChunk chunk, CancellationToken cancellationToken);

    /// <summary>Ends bulk loads still streaming into staging (not the direct load, which publishing ends), before staging is read.</summary>
    protected virtual Task FinishBulkLoadAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>Makes the staged rows the target's, by <see cref="Mode"/> and <see cref="TargetState"/>, then drops staging.</summary>
    protected abstract Task PublishAsync(CancellationToken cancellationToken);

    /// <summary>The first row <paramref name="command"/> returns, each value as invariant text; null when there is none.</summary>
    protected static async Task<IReadOnlyList<string?>?> FirstRowAsync(System.Data.Common.DbCommand command, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(command);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        if (!await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            return null;
        }

        var row = new string?[reader.FieldCount];
        for (var i = 0; i < row.Length; i++)
        {
            row[i] = reader.IsDBNull(i) ? null : Convert.ToString(reader.GetValue(i), System.Globalization.CultureInfo.InvariantCulture);
        }

        return row;
    }

    /// <summary>An error of the database or its connection (not a bug), which cleanup after a failure may ignore.</summary>
    protected abstract bool IsDatabaseError(Exception error);
}
