using System.Globalization;
using System.Text;
using Apache.Arrow;
using EtlStream.Tables;
using DuckDB.NET.Data;
using EtlStream.Sinks.Sql;

namespace EtlStream.Sinks.DuckDb;

/// <summary>
/// Loads batches into a DuckDB table: each chunk's batches are scanned by DuckDB in place through the Arrow C data
/// interface (<see cref="DuckDbArrowScan"/>) by one <c>INSERT … SELECT</c>. The whole run is one transaction, committed in
/// <see cref="CompleteAsync"/> and rolled back when the sink is disposed without completing, so a failed run adds
/// no rows. <see cref="DuckDbWriteMode.Replace"/> drops and recreates the table inside that same transaction, so
/// readers see either the old content or the new, never a mix.
/// </summary>
internal sealed class DuckDbSink : IBatchSink
{
    private readonly DuckDbSinkOptions _options;
    private DuckDBConnection? _connection;
    private DuckDBTransaction? _transaction;
    private Schema? _schema;
    private string _insertSql = "";
    private SqlColumn[] _columns = [];
    private bool _completed;
    private readonly Dictionary<Sources.SourceFile, long> _rowsBySource = new(ReferenceEqualityComparer.Instance);
    private readonly List<(Sources.SourceFile File, long Rows)> _filesDone = [];

    private const string LedgerTable = LedgerStamp.Table;

    public DuckDbSink(DuckDbSinkOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentException.ThrowIfNullOrWhiteSpace(options.DatabasePath, nameof(options) + "." + nameof(options.DatabasePath));
        ArgumentException.ThrowIfNullOrWhiteSpace(options.Table, nameof(options) + "." + nameof(options.Table));
        if (DuckDbSinkOptions.CheckPath(options.DatabasePath) is { } notAPath)
        {
            throw new ArgumentException(notAPath + ".", nameof(options));
        }
        if (options.Mode == DuckDbWriteMode.Merge && options.Key.Count == 0)
        {
            throw new ArgumentException($"DuckDB table \"{options.Table}\": merge needs key columns", nameof(options));
        }

        _options = options;
    }

    public int MaxConcurrency => 1;

    /// <summary>
    /// One statement per chunk, so a statement's fixed cost (plan, view) is spread over many rows. Taking batches one
    /// at a time measured the same within the noise (perf/results/duckdb-sink-alternatives.md); the chunk slots
    /// come out of the same --memory-budget either way.
    /// </summary>
    public int PreferredChunkRows => 64 * 1024;

    private string StagingTable => $"__etlstream_merge_{_options.Table}";

    /// <summary>The view each chunk's batches are scanned through; per sink, so concurrent runs never share one.</summary>
    private readonly string _view = $"__etlstream_arrow_{Guid.NewGuid():N}";

    /// <summary>Rows inserted so far in this run.</summary>
    public long RowsWritten { get; private set; }

    public ValueTask OpenAsync(Schema schema, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(schema);
        if (_connection is not null)
        {
            throw new InvalidOperationException("The DuckDB sink is already open.");
        }

        cancellationToken.ThrowIfCancellationRequested();
        var columns = DuckDbDialect.Instance.ColumnsOf(schema);
        _columns = columns;
        _schema = schema;

        var databasePath = Path.GetFullPath(_options.DatabasePath);
        var directory = Path.GetDirectoryName(databasePath);
        if (!string.IsNullOrEmpty(directory))
        {
            Directory.CreateDirectory(directory);
        }

        _connection = new DuckDBConnection(DuckDbSinkOptions.ConnectionString(databasePath));
        _connection.Open();
        Execute($"SET memory_limit = {DuckDbDialect.Instance.Literal(_options.MemoryLimit ?? DuckDbSinkOptions.MemoryLimitFor(columns.Length))}");
        _transaction = _connection.BeginTransaction();

        var table = QuoteIdentifier(_options.Table);
        if (_options.Mode == DuckDbWriteMode.Replace)
        {
            Execute($"DROP TABLE IF EXISTS {table}");
            Execute(DuckDbDialect.Instance.CreateTableSql(table, columns, key: _options.Key));
        }
        else
        {
            // A table that exists keeps its constraints: a key is declared only when the table is made.
            Execute(DuckDbDialect.Instance.CreateTableSql(table, columns, ifNotExists: true, key: _options.Key));
            CheckLiveSchema(columns, schema);
        }

        if (_options.Mode == DuckDbWriteMode.Merge)
        {
            // Rows land in a staging table of the same transaction; CompleteAsync swaps matching keys in.
            Execute($"DROP TABLE IF EXISTS {QuoteIdentifier(StagingTable)}");
            Execute(DuckDbDialect.Instance.CreateTableSql(QuoteIdentifier(StagingTable), columns));
        }

        if (_options.ReplaceSources.Count > 0 && _options.Mode != DuckDbWriteMode.Replace)
        {
            DeleteReplacedSources(schema);
        }

        if (_options.Ledger is not null)
        {
            Execute($"CREATE TABLE IF NOT EXISTS {LedgerTable} (tenant VARCHAR NOT NULL, target VARCHAR NOT NULL, source_name VARCHAR NOT NULL, source_version VARCHAR NOT NULL, rows BIGINT NOT NULL, run_id VARCHAR NOT NULL, committed_at TIMESTAMP NOT NULL)");
        }

        // By name, not position: a table the run evolved, or made by another run, keeps its own column order.
        var names = string.Join(", ", columns.Select(c => QuoteIdentifier(c.Name)));
        var destination = QuoteIdentifier(_options.Mode == DuckDbWriteMode.Merge ? StagingTable : _options.Table);
        _insertSql = $"INSERT INTO {destination} ({names}) SELECT {names} FROM {QuoteIdentifier(_view)}";
        return ValueTask.CompletedTask;
    }

    public ValueTask WriteAsync(SinkChunk chunk, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(chunk);
        var batches = chunk.Batches;
        var schema = _schema ?? throw new InvalidOperationException("The DuckDB sink is not open.");
        cancellationToken.ThrowIfCancellationRequested();
        long rows = 0;
        for (var b = 0; b < batches.Count; b++)
        {
            if (batches[b].ColumnCount != _columns.Length)
            {
                throw new ArgumentException($"Batch has {batches[b].ColumnCount} columns, table {_options.Table} has {_columns.Length}.", nameof(chunk));
            }

            rows += batches[b].Length;
        }

        if (rows > 0)
        {
            DuckDbArrowScan.WithView(_connection!, _view, schema, batches, () => Execute(_insertSql), () => Execute($"DROP VIEW IF EXISTS {QuoteIdentifier(_view)}"));
            RowsWritten += rows;
        }

        if (chunk.Source is { } source)
        {
            _rowsBySource[source] = _rowsBySource.GetValueOrDefault(source) + chunk.Rows;
        }

        return ValueTask.CompletedTask;
    }

    /// <summary>Remembers the file for the target's ledger table, written with the rows when the run commits.</summary>
    public ValueTask FileCompleteAsync(Sources.SourceFile file, int chunks, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(file);
        _rowsBySource.Remove(file, out var rows);
        _filesDone.Add((file, rows));
        return ValueTask.CompletedTask;
    }

    public ValueTask CompleteAsync(CancellationToken cancellationToken)
    {
        _ = _schema ?? throw new InvalidOperationException("The DuckDB sink is not open.");
        cancellationToken.ThrowIfCancellationRequested();

        if (_options.Mode == DuckDbWriteMode.Merge)
        {
            var table = QuoteIdentifier(_options.Table);
            var staging = QuoteIdentifier(StagingTable);
            var match = string.Join(" AND ", _options.Key.Select(k => $"s.{QuoteIdentifier(k)} = t.{QuoteIdentifier(k)}"));
            CheckDuplicateKeys(staging);
            Execute($"DELETE FROM {table} t WHERE EXISTS (SELECT 1 FROM {staging} s WHERE {match})");
            Execute($"INSERT INTO {table} SELECT * FROM {staging}");
            Execute($"DROP TABLE {staging}");
        }

        if (_options.Ledger is { } stamp)
        {
            foreach (var (file, rows) in _filesDone)
            {
                Execute(
                    $"INSERT INTO {LedgerTable} VALUES ($1, $2, $3, $4, $5, $6, now())",
                    stamp.Tenant, stamp.Target, file.Name, file.Version, rows, stamp.RunId);
            }
        }

        _transaction!.Commit();
        _completed = true;
        return ValueTask.CompletedTask;
    }

    public ValueTask DisposeAsync()
    {
        try
        {
            if (_transaction is not null)
            {
                if (!_completed)
                {
                    _transaction.Rollback();
                }

                _transaction.Dispose();
                _transaction = null;
            }
        }
        finally
        {
            _connection?.Dispose();
            _connection = null;
        }

        return ValueTask.CompletedTask;
    }

    /// <param name="schema">Its <c>etlstream.schema_drift = evolve</c> metadata lets trailing nullable columns the table lacks be added.</param>
    private void CheckLiveSchema(SqlColumn[] expected, Schema schema)
    {
        var evolve = schema.Metadata?.GetValueOrDefault(ArrowTypes.SchemaDriftKey) == "evolve";
        var live = new List<SqlColumn>();
        using (var command = _connection!.CreateCommand())
        {
            command.Transaction = _transaction;
            command.CommandText =
                "SELECT column_name, data_type, is_nullable = 'YES' FROM information_schema.columns " +
                "WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position";
            command.Parameters.Add(new DuckDBParameter(_options.Table));
            using var reader = command.ExecuteReader();
            while (reader.Read())
            {
                live.Add(new SqlColumn(reader.GetString(0), reader.GetString(1), reader.GetBoolean(2)));
            }
        }

        var drift = TableDrift.Compare(expected, live, DuckDbDialect.Instance, evolve);
        if (drift.Differences.Count > 0)
        {
            throw new TableDriftException($"DuckDB table \"{_options.Table}\" in {_options.DatabasePath}", drift);
        }

        foreach (var column in drift.ColumnsToAdd)
        {
            Execute(DuckDbDialect.Instance.AddColumnSql(QuoteIdentifier(_options.Table), column));
        }
    }

    /// <summary>
    /// A merge takes one row per key, as the server sinks do (<see cref="Sql.DuplicateKeyException"/>): a run holding
    /// a key twice would otherwise leave both rows in the table.
    /// </summary>
    private void CheckDuplicateKeys(string staging)
    {
        var keys = string.Join(", ", _options.Key.Select(QuoteIdentifier));
        using var command = _connection!.CreateCommand();
        command.Transaction = _transaction;
        command.CommandText = $"SELECT {string.Join(", ", _options.Key.Select(k => $"CAST({QuoteIdentifier(k)} AS VARCHAR)"))}, count(*) FROM {staging} GROUP BY {keys} HAVING count(*) > 1 LIMIT 1";
        using var reader = command.ExecuteReader();
        if (reader.Read())
        {
            var names = string.Join(", ", _options.Key);
            var values = string.Join(", ", _options.Key.Select((_, i) => reader.IsDBNull(i) ? "NULL" : DuckDbDialect.Instance.Literal(reader.GetString(i))));
            throw new Sql.DuplicateKeyException(
                $"DuckDB table \"{_options.Table}\": the run's rows hold key ({names}) = ({values}) {Convert.ToInt64(reader.GetValue(_options.Key.Count), CultureInfo.InvariantCulture)} times; a table keyed by ({names}) takes one row per key, so nothing was published.");
        }
    }

    private void Execute(string sql, params object[] parameters)
    {
        using var command = _connection!.CreateCommand();
        command.Transaction = _transaction;
        command.CommandText = sql;
        foreach (var p in parameters)
        {
            command.Parameters.Add(new DuckDBParameter(p));
        }

        command.ExecuteNonQuery();
    }

    private void DeleteReplacedSources(Schema schema)
    {
        if (schema.GetFieldIndex(_options.SourceColumn) < 0)
        {
            throw new InvalidOperationException(
                $"DuckDB table \"{_options.Table}\": re-uploaded files can only replace their earlier rows through a '{_options.SourceColumn}' column (computed: source_file); the table has none");
        }

        foreach (var name in _options.ReplaceSources)
        {
            // A zip's entries are named archive!entry in that column.
            Execute($"DELETE FROM {QuoteIdentifier(_options.Table)} WHERE {QuoteIdentifier(_options.SourceColumn)} = $1 OR starts_with({QuoteIdentifier(_options.SourceColumn)}, $2)", name, name + "!");
        }
    }

    /// <summary>
    /// What the database's ledger table says is committed into <paramref name="target"/>: (source name, version,
    /// rows, run id). Empty when the database or the table does not exist yet.
    /// </summary>
    public static IReadOnlyList<(string SourceName, string SourceVersion, long Rows, string RunId)> ReadLedger(string databasePath, string tenant, string target)
    {
        ArgumentNullException.ThrowIfNull(databasePath);
        if (!File.Exists(databasePath))
        {
            return [];
        }

        using var connection = new DuckDBConnection(DuckDbSinkOptions.ConnectionString(databasePath));
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = $"SELECT count(*) FROM information_schema.tables WHERE table_name = '{LedgerTable}'";
        if (Convert.ToInt64(command.ExecuteScalar(), CultureInfo.InvariantCulture) == 0)
        {
            return [];
        }

        command.CommandText = $"SELECT source_name, source_version, rows, run_id FROM {LedgerTable} WHERE tenant = $1 AND target = $2 ORDER BY committed_at";
        command.Parameters.Add(new DuckDBParameter(tenant));
        command.Parameters.Add(new DuckDBParameter(target));
        using var reader = command.ExecuteReader();
        var rows = new List<(string, string, long, string)>();
        while (reader.Read())
        {
            rows.Add((reader.GetString(0), reader.GetString(1), reader.GetInt64(2), reader.GetString(3)));
        }

        return rows;
    }

    /// <summary>What the sink sets on the database, as <c>explain</c> states it.</summary>
    public static string SettingsText(DuckDbSinkOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return $"DuckDB memory_limit = {(options.MemoryLimit is { } set ? $"'{set}'" : DuckDbSinkOptions.DefaultMemoryLimitText)} (its buffer pool, outside --memory-budget; past it DuckDB spills to {Path.GetFileName(options.DatabasePath)}.tmp beside the database, removed when the run ends)";
    }

    /// <summary>Double-quotes an identifier, doubling embedded quotes.</summary>
    public static string QuoteIdentifier(string name) => DuckDbDialect.Instance.Quote(name);

    /// <summary>The DuckDB type a field is stored as, spelled as information_schema reports it.</summary>
    public static string DuckDbTypeOf(Field field) => DuckDbDialect.Instance.TypeOf(field);
}
