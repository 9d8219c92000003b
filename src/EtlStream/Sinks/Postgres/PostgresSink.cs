using System.Data.Common;
using Apache.Arrow;
using EtlStream.Sinks.Sql;
using EtlStream.Tables;
using Npgsql;
using NpgsqlTypes;

namespace EtlStream.Sinks.Postgres;

/// <summary>
/// Loads batches into PostgreSQL with binary <c>COPY … FROM STDIN (FORMAT BINARY)</c>, values written straight
/// from the Arrow arrays, up to <see cref="PostgresSinkOptions.MaxConcurrency"/> COPYs at once into the run's
/// UNLOGGED staging table (see <see cref="SqlStagedSink"/>). <see cref="CompleteAsync"/> publishes in one
/// transaction: append copies the staged rows in; replace truncates and refills the table (so its grants, RLS
/// policies and dependent views stay), or renames staging into place when the table was missing or its columns
/// differ. Readers see the old content until that transaction commits.
/// </summary>
public sealed class PostgresSink : SqlStagedSink
{
    private readonly PostgresSinkOptions _options;
    private NpgsqlDataSource? _dataSource;
    private ColumnKind[] _kinds = [];

    public PostgresSink(PostgresSinkOptions options)
        : base(PostgresDialect.Instance, Checked(options).Table, options.Mode, options.MaxConcurrency, options.ChunkRows)
    {
        _options = options;
        PostgresDialect.Instance.ValidateIdentifier(options.Schema);
    }

    private static PostgresSinkOptions Checked(PostgresSinkOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var errors = options.Validate();
        return errors.Count == 0 ? options : throw new ArgumentException(string.Join("; ", errors), nameof(options));
    }

    protected override string Qualify(string table) => Dialect.Quote(_options.Schema) + "." + Dialect.Quote(table);

    protected override async Task ConnectAsync(CancellationToken cancellationToken)
    {
        _kinds = new ColumnKind[Schema.FieldsList.Count];
        for (var i = 0; i < _kinds.Length; i++)
        {
            _kinds[i] = ArrowTypes.KindOf(Schema.FieldsList[i].DataType);
        }

        _dataSource = NpgsqlDataSource.Create(_options.ConnectionString);

        // Fail on a bad address or password now, before anything else happens.
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
    }

    protected override async ValueTask DisconnectAsync()
    {
        if (_dataSource is not null)
        {
            await _dataSource.DisposeAsync().ConfigureAwait(false);
            _dataSource = null;
        }
    }

    protected override async Task<IReadOnlyList<SqlColumn>?> ReadLiveColumnsAsync(string table, CancellationToken cancellationToken)
    {
        await using var command = DataSource.CreateCommand("""
            SELECT a.attname, format_type(a.atttypid, a.atttypmod), NOT a.attnotnull
            FROM pg_catalog.pg_attribute a
            JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
            JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped
            ORDER BY a.attnum
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = _options.Schema });
        command.Parameters.Add(new NpgsqlParameter { Value = table });
        var columns = new List<SqlColumn>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            columns.Add(new SqlColumn(reader.GetString(0), reader.GetString(1), reader.GetBoolean(2)));
        }

        return columns.Count == 0 ? null : columns;
    }

    protected override async Task ExecuteAsync(string sql, CancellationToken cancellationToken)
    {
        await using var command = DataSource.CreateCommand(sql);
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    protected override async Task BulkLoadAsync(SinkChunk chunk, CancellationToken cancellationToken)
    {
        await using var connection = await DataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        var importer = await connection.BeginBinaryImportAsync(
            $"COPY {Qualify(StagingTable)} FROM STDIN (FORMAT BINARY)", cancellationToken).ConfigureAwait(false);
        await using (importer.ConfigureAwait(false))
        {
            foreach (var batch in chunk.Batches)
            {
                cancellationToken.ThrowIfCancellationRequested();
                WriteBatch(importer, batch);
            }

            await importer.CompleteAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Synchronous writes: the importer buffers, and an awaited call per value would cost more than the value.
    /// Text goes as its raw UTF-8 bytes: in binary COPY a text value is exactly those bytes (the server checks the
    /// encoding), which spares decoding every value into a .NET string only for Npgsql to encode it back.
    /// </summary>
    private void WriteBatch(NpgsqlBinaryImporter importer, RecordBatch batch)
    {
        var rows = batch.Length;
        for (var r = 0; r < rows; r++)
        {
            importer.StartRow();
            for (var c = 0; c < _kinds.Length; c++)
            {
                var array = batch.Column(c);
                if (array.IsNull(r))
                {
                    importer.WriteNull();
                    continue;
                }

                switch (_kinds[c])
                {
                    case ColumnKind.String:
                        importer.Write(ArrowValues.Utf8((StringArray)array, r), NpgsqlDbType.Bytea);
                        break;
                    case ColumnKind.Int8:
                        importer.Write((short)((Int8Array)array).Values[r], NpgsqlDbType.Smallint);
                        break;
                    case ColumnKind.Int16:
                        importer.Write(((Int16Array)array).Values[r], NpgsqlDbType.Smallint);
                        break;
                    case ColumnKind.Int32:
                        importer.Write(((Int32Array)array).Values[r], NpgsqlDbType.Integer);
                        break;
                    case ColumnKind.Int64:
                        importer.Write(((Int64Array)array).Values[r], NpgsqlDbType.Bigint);
                        break;
                    case ColumnKind.Float64:
                        importer.Write(((DoubleArray)array).Values[r], NpgsqlDbType.Double);
                        break;
                    case ColumnKind.Bool:
                        importer.Write(((BooleanArray)array).GetValue(r)!.Value, NpgsqlDbType.Boolean);
                        break;
                    case ColumnKind.Decimal:
                        importer.Write(ArrowValues.ToDecimal((Decimal128Array)array, r, Columns[c].Name, Dialect.Name), NpgsqlDbType.Numeric);
                        break;
                    case ColumnKind.Date:
                        importer.Write(ArrowValues.ToDate((Date32Array)array, r), NpgsqlDbType.Date);
                        break;
                    case ColumnKind.Timestamp:
                        importer.Write(ArrowValues.ToDateTime((TimestampArray)array, r), NpgsqlDbType.Timestamp);
                        break;
                    default:
                        throw new InvalidOperationException($"Unhandled column kind {_kinds[c]}.");
                }
            }
        }
    }

    protected override async Task PublishAsync(CancellationToken cancellationToken)
    {
        var target = Qualify(Table);
        var staging = Qualify(StagingTable);
        var rename = $"ALTER TABLE {staging} SET LOGGED; ALTER TABLE {staging} RENAME TO {Dialect.Quote(Table)}";
        var sql = (Mode, TargetState) switch
        {
            (_, TargetTableState.Missing) => rename,
            (SqlWriteMode.Append, _) => $"INSERT INTO {target} SELECT * FROM {staging}; DROP TABLE {staging}",
            (SqlWriteMode.Replace, TargetTableState.Matching) => $"TRUNCATE TABLE {target}; INSERT INTO {target} SELECT * FROM {staging}; DROP TABLE {staging}",
            _ => $"DROP TABLE {target}; {rename}",
        };

        await using var connection = await DataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        await using (transaction.ConfigureAwait(false))
        {
            await using var command = new NpgsqlCommand(sql, connection, transaction) { CommandTimeout = 0 };
            await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    protected override bool IsDatabaseError(Exception error) => error is DbException or IOException or TimeoutException;

    private NpgsqlDataSource DataSource => _dataSource ?? throw new InvalidOperationException("The PostgreSQL sink is not open.");
}
