using System.Buffers.Binary;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using Apache.Arrow;
using EtlStream.Tables;
using Apache.Arrow.Types;
using DuckDB.NET.Data;
using EtlStream.Sinks.Sql;

namespace EtlStream.Sinks.DuckDb;

/// <summary>
/// Loads batches into a DuckDB table through DuckDB.NET's appender. The whole run is one transaction, committed in
/// <see cref="CompleteAsync"/> and rolled back when the sink is disposed without completing, so a failed run adds
/// no rows. <see cref="DuckDbWriteMode.Replace"/> drops and recreates the table inside that same transaction, so
/// readers see either the old content or the new, never a mix.
/// </summary>
public sealed class DuckDbSink : IBatchSink
{
    private const int UnixEpochDayNumber = 719162; // DateOnly(1970, 1, 1).DayNumber

    /// <summary>
    /// The widest decimal the appender takes as <see cref="decimal"/>: 10^28 − 1 fits its 96 bits. DuckDB.NET's
    /// appender has no other way into a DECIMAL column, so wider columns are appended as text into a staging table
    /// and cast by DuckDB when the run completes (exact: text → DECIMAL does not round).
    /// </summary>
    private const int MaxAppenderDecimalPrecision = 28;

    /// <summary>A DECIMAL(38,s) as text: sign, up to 39 digits (a zero before the point when s = 38), point.</summary>
    private const int WideDecimalChars = 41;

    private readonly DuckDbSinkOptions _options;
    private DuckDBConnection? _connection;
    private DuckDBTransaction? _transaction;
    private DuckDBAppender? _appender;
    private ColumnKind[] _kinds = [];
    private string[] _names = [];
    private long[] _ticksPerUnit = [];
    private bool[] _wide = [];
    private string[] _wideFormats = [];
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

    /// <summary>The appender works row by row; chunk size only bounds memory, so a moderate chunk is enough.</summary>
    public int PreferredChunkRows => 64 * 1024;

    private string StagingTable => $"__etlstream_merge_{_options.Table}";

    /// <summary>Takes the appended rows when a decimal column is wider than the appender's: see <see cref="MaxAppenderDecimalPrecision"/>.</summary>
    private string WideTable => $"__etlstream_wide_{_options.Table}";

    private bool HasWideColumns => System.Array.IndexOf(_wide, true) >= 0;

    /// <summary>Rows appended so far in this run.</summary>
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
        _kinds = new ColumnKind[columns.Length];
        _names = new string[columns.Length];
        _ticksPerUnit = new long[columns.Length];
        _wide = new bool[columns.Length];
        _wideFormats = new string[columns.Length];
        _columns = columns;
        for (var i = 0; i < columns.Length; i++)
        {
            var field = schema.FieldsList[i];
            _kinds[i] = ArrowTypes.KindOf(field.DataType);
            _names[i] = field.Name;
            if (field.DataType is Decimal128Type { Precision: > MaxAppenderDecimalPrecision } wide)
            {
                _wide[i] = true;
                _wideFormats[i] = "D" + (wide.Scale + 1).ToString(CultureInfo.InvariantCulture); // a digit before the point
            }

            if (field.DataType is TimestampType ts)
            {
                _ticksPerUnit[i] = ts.Unit switch
                {
                    TimeUnit.Second => TimeSpan.TicksPerSecond,
                    TimeUnit.Millisecond => TimeSpan.TicksPerMillisecond,
                    TimeUnit.Microsecond => TimeSpan.TicksPerMicrosecond,
                    _ => 0, // nanoseconds: divided, see ToDateTime
                };
            }
        }

        var databasePath = Path.GetFullPath(_options.DatabasePath);
        var directory = Path.GetDirectoryName(databasePath);
        if (!string.IsNullOrEmpty(directory))
        {
            Directory.CreateDirectory(directory);
        }

        _connection = new DuckDBConnection(DuckDbSinkOptions.ConnectionString(databasePath));
        _connection.Open();
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

        if (HasWideColumns)
        {
            var staged = new SqlColumn[columns.Length];
            for (var i = 0; i < columns.Length; i++)
            {
                staged[i] = _wide[i] ? columns[i] with { Type = "VARCHAR" } : columns[i];
            }

            Execute($"DROP TABLE IF EXISTS {QuoteIdentifier(WideTable)}");
            Execute(DuckDbDialect.Instance.CreateTableSql(QuoteIdentifier(WideTable), staged));
        }

        _appender = _connection.CreateAppender(HasWideColumns ? WideTable : _options.Mode == DuckDbWriteMode.Merge ? StagingTable : _options.Table);
        return ValueTask.CompletedTask;
    }

    public ValueTask WriteAsync(SinkChunk chunk, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(chunk);
        var batches = chunk.Batches;
        var appender = _appender ?? throw new InvalidOperationException("The DuckDB sink is not open.");
        for (var b = 0; b < batches.Count; b++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            AppendBatch(appender, batches[b]);
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
        var appender = _appender ?? throw new InvalidOperationException("The DuckDB sink is not open.");
        cancellationToken.ThrowIfCancellationRequested();
        _appender = null;
        appender.Close(); // flushes the last rows into the open transaction
        if (HasWideColumns)
        {
            var names = string.Join(", ", _columns.Select(c => QuoteIdentifier(c.Name)));
            var values = string.Join(", ", _columns.Select((c, i) => _wide[i] ? $"CAST({QuoteIdentifier(c.Name)} AS {c.Type})" : QuoteIdentifier(c.Name)));
            var destination = QuoteIdentifier(_options.Mode == DuckDbWriteMode.Merge ? StagingTable : _options.Table);
            Execute($"INSERT INTO {destination} ({names}) SELECT {values} FROM {QuoteIdentifier(WideTable)}");
            Execute($"DROP TABLE {QuoteIdentifier(WideTable)}");
        }

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
            if (_appender is not null)
            {
                // Closing flushes buffered rows, but into the still-open transaction that is rolled back below.
                var appender = _appender;
                _appender = null;
                try
                {
                    appender.Close();
                }
                catch (DuckDBException)
                {
                    // The run is being abandoned: a flush error here must not hide the error that abandoned it.
                }
            }

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

    private void AppendBatch(DuckDBAppender appender, RecordBatch batch)
    {
        if (batch.ColumnCount != _kinds.Length)
        {
            throw new ArgumentException($"Batch has {batch.ColumnCount} columns, table {_options.Table} has {_kinds.Length}.", nameof(batch));
        }

        var rows = batch.Length;
        Span<byte> text = stackalloc byte[WideDecimalChars];
        for (var r = 0; r < rows; r++)
        {
            var row = appender.CreateRow();
            for (var c = 0; c < _kinds.Length; c++)
            {
                var array = batch.Column(c);
                if (array.IsNull(r))
                {
                    row.AppendNullValue();
                    continue;
                }

                switch (_kinds[c])
                {
                    case ColumnKind.String:
                        var bytes = ((StringArray)array).GetBytes(r, out _);
                        if (bytes.Length == 0)
                        {
                            row.AppendValue(string.Empty); // an empty span can look like null to the appender
                        }
                        else
                        {
                            // VARCHAR accepts raw UTF-8 bytes: no string is materialised per value.
                            row.AppendValue(MemoryMarshal.CreateSpan(ref MemoryMarshal.GetReference(bytes), bytes.Length));
                        }

                        break;
                    case ColumnKind.Int8:
                        row.AppendValue(((Int8Array)array).Values[r]);
                        break;
                    case ColumnKind.Int16:
                        row.AppendValue(((Int16Array)array).Values[r]);
                        break;
                    case ColumnKind.Int32:
                        row.AppendValue(((Int32Array)array).Values[r]);
                        break;
                    case ColumnKind.Int64:
                        row.AppendValue(((Int64Array)array).Values[r]);
                        break;
                    case ColumnKind.Float64:
                        row.AppendValue(((DoubleArray)array).Values[r]);
                        break;
                    case ColumnKind.Bool:
                        row.AppendValue(((BooleanArray)array).GetValue(r));
                        break;
                    case ColumnKind.Decimal when _wide[c]:
                        row.AppendValue(FormatWideDecimal((Decimal128Array)array, r, _wideFormats[c], text));
                        break;
                    case ColumnKind.Decimal:
                        row.AppendValue(ReadDecimal((Decimal128Array)array, r, c));
                        break;
                    case ColumnKind.Date:
                        row.AppendValue(DateOnly.FromDayNumber(UnixEpochDayNumber + ((Date32Array)array).Values[r]));
                        break;
                    case ColumnKind.Timestamp:
                        row.AppendValue(ToDateTime(((TimestampArray)array).Values[r], _ticksPerUnit[c]));
                        break;
                    default:
                        throw new InvalidOperationException($"Unhandled column kind {_kinds[c]}.");
                }
            }

            row.EndRow();
        }

        RowsWritten += rows;
    }

    private decimal ReadDecimal(Decimal128Array array, int index, int column)
    {
        var scale = (byte)((Decimal128Type)array.Data.DataType).Scale;
        var unscaled = BinaryPrimitives.ReadInt128LittleEndian(array.ValueBuffer.Span.Slice((array.Offset + index) * 16, 16));
        var negative = unscaled < 0;
        var magnitude = negative ? (UInt128)(-unscaled) : (UInt128)unscaled;
        if ((magnitude >> 96) != UInt128.Zero)
        {
            throw new OverflowException(
                $"Column \"{_names[column]}\": decimal value does not fit System.Decimal (96-bit), which the DuckDB appender requires.");
        }

        var low = (ulong)magnitude;
        return new decimal((int)(uint)low, (int)(uint)(low >> 32), (int)(uint)(magnitude >> 64), negative, scale);
    }

    /// <summary>The value as DuckDB reads a DECIMAL literal (<c>-123.45</c>), written into <paramref name="text"/> without allocating.</summary>
    private static Span<byte> FormatWideDecimal(Decimal128Array array, int index, string format, Span<byte> text)
    {
        var scale = ((Decimal128Type)array.Data.DataType).Scale;
        var unscaled = BinaryPrimitives.ReadInt128LittleEndian(array.ValueBuffer.Span.Slice((array.Offset + index) * 16, 16));
        var length = 0;
        if (unscaled < 0)
        {
            text[length++] = (byte)'-';
        }

        // 38 digits at most (the transform enforced the precision), so the magnitude fits UInt128 and the buffer.
        var magnitude = unscaled < 0 ? (UInt128)(-unscaled) : (UInt128)unscaled;
        var digits = text[length..];
        if (!magnitude.TryFormat(digits, out var written, format, CultureInfo.InvariantCulture))
        {
            throw new InvalidOperationException($"decimal with {written} digits does not fit DECIMAL(38)");
        }

        length += written;
        if (scale > 0)
        {
            // The zero-padded digits are at least scale + 1 long: move the fraction right by one for the point.
            var point = length - scale;
            text[point..length].CopyTo(text[(point + 1)..]);
            text[point] = (byte)'.';
            length++;
        }

        return text[..length];
    }

    private static DateTime ToDateTime(long value, long ticksPerUnit)
    {
        var ticks = ticksPerUnit == 0 ? value / 100 : value * ticksPerUnit;
        return new DateTime(DateTime.UnixEpoch.Ticks + ticks, DateTimeKind.Unspecified);
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

    /// <summary>Double-quotes an identifier, doubling embedded quotes.</summary>
    public static string QuoteIdentifier(string name) => DuckDbDialect.Instance.Quote(name);

    /// <summary>The DuckDB type a field is stored as, spelled as information_schema reports it.</summary>
    public static string DuckDbTypeOf(Field field) => DuckDbDialect.Instance.TypeOf(field);
}
