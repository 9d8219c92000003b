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
}

/// <summary>The state of the target table when the run started, which decides how the staged rows are published.</summary>
public enum TargetTableState
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
public abstract class SqlStagedSink : IBatchSink
{
    private readonly System.Collections.Concurrent.ConcurrentDictionary<Sources.SourceFile, long> _rowsBySource = new(ReferenceEqualityComparer.Instance);
    private readonly List<(Sources.SourceFile File, long Rows)> _filesWritten = [];

    private long _rowsWritten;
    private bool _staged;
    private bool _published;
    private bool _direct;

    protected SqlStagedSink(SqlDialect dialect, string table, SqlWriteMode mode, int maxConcurrency, int chunkRows)
    {
        ArgumentNullException.ThrowIfNull(dialect);
        ArgumentException.ThrowIfNullOrWhiteSpace(table);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxConcurrency, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(chunkRows, 1);
        dialect.ValidateIdentifier(table);
        Dialect = dialect;
        Table = table;
        Mode = mode;
        MaxConcurrency = maxConcurrency;
        PreferredChunkRows = chunkRows;

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
        await ConnectAsync(cancellationToken).ConfigureAwait(false);
        var live = await ReadLiveColumnsAsync(Table, cancellationToken).ConfigureAwait(false);
        if (live is null)
        {
            TargetState = TargetTableState.Missing;
        }
        else
        {
            var evolve = Mode == SqlWriteMode.Append && schema.Metadata?.GetValueOrDefault(ArrowTypes.SchemaDriftKey) == "evolve";
            var drift = TableDrift.Compare(Columns, live, Dialect, evolve);
            if (Mode == SqlWriteMode.Append && drift.Differences.Count > 0)
            {
                throw new TableDriftException(Describe, drift);
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

    /// <summary>The statement that makes the run's staging table; <see cref="TargetState"/> is known by then.</summary>
    protected virtual string CreateStagingSql() => Dialect.CreateTableSql(Qualify(StagingTable), Columns, staging: true);

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

        await PublishAsync(cancellationToken).ConfigureAwait(false);
        _published = true;
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

    /// <summary>Bulk-loads one chunk into <see cref="LoadTable"/>; called up to <see cref="MaxConcurrency"/> times at once.</summary>
    protected abstract Task BulkLoadAsync(SinkChunk chunk, CancellationToken cancellationToken);

    /// <summary>Makes the staged rows the target's, by <see cref="Mode"/> and <see cref="TargetState"/>, then drops staging.</summary>
    protected abstract Task PublishAsync(CancellationToken cancellationToken);

    /// <summary>An error of the database or its connection (not a bug), which cleanup after a failure may ignore.</summary>
    protected abstract bool IsDatabaseError(Exception error);
}
