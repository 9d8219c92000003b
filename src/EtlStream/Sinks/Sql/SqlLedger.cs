using System.Data.Common;
using System.Globalization;
using System.Text;
using Apache.Arrow;
using Apache.Arrow.Types;
using EtlStream.Tables;

namespace EtlStream.Sinks.Sql;

/// <summary>One row of a target's <c>_etlstream_ledger</c>: a source file a run committed into the table.</summary>
public sealed record LedgerRow(string SourceName, string SourceVersion, long Rows, string RunId);

/// <summary>
/// The target-side load ledger every server sink shares (<see cref="LedgerStamp.Table"/>): one table shape, declared
/// once as an Arrow schema and spelled by each dialect like any data table, and the statements that write and read
/// it. PostgreSQL and MySQL write it through ADO.NET with parameters, in the transaction that publishes the rows;
/// ClickHouse, reached over HTTP and without transactions, writes it with literals right after the publish.
/// </summary>
internal static class SqlLedger
{
    private static readonly Schema Shape = new Schema.Builder()
        .Field(f => f.Name("tenant").DataType(StringType.Default).Nullable(false))
        .Field(f => f.Name("target").DataType(StringType.Default).Nullable(false))
        .Field(f => f.Name("source_name").DataType(StringType.Default).Nullable(false))
        .Field(f => f.Name("source_version").DataType(StringType.Default).Nullable(false))
        .Field(f => f.Name("rows").DataType(Int64Type.Default).Nullable(false))
        .Field(f => f.Name("run_id").DataType(StringType.Default).Nullable(false))
        .Field(f => f.Name("committed_at").DataType(ArrowTypes.Timestamp).Nullable(false))
        .Build();

    /// <summary>The columns, quoted: <c>rows</c> is a reserved word in MySQL 8.</summary>
    private static string ColumnList(SqlDialect dialect) => string.Join(", ", Shape.FieldsList.Select(f => dialect.Quote(f.Name)));

    /// <summary><c>CREATE TABLE IF NOT EXISTS</c> for the ledger in <paramref name="dialect"/>'s types.</summary>
    public static string CreateTableSql(SqlDialect dialect, string qualifiedLedger)
    {
        ArgumentNullException.ThrowIfNull(dialect);
        return dialect.CreateTableSql(qualifiedLedger, dialect.ColumnsOf(Shape), ifNotExists: true);
    }

    /// <summary>
    /// Inserts one ledger row per file with parameters (a file name never becomes SQL), on
    /// <paramref name="connection"/> inside <paramref name="transaction"/>: the one that publishes the files' rows.
    /// </summary>
    public static async Task WriteAsync(
        SqlDialect dialect, DbConnection connection, DbTransaction? transaction, string qualifiedLedger, LedgerStamp stamp,
        IReadOnlyList<(Sources.SourceFile File, long Rows)> files, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(dialect);
        ArgumentNullException.ThrowIfNull(connection);
        ArgumentNullException.ThrowIfNull(stamp);
        ArgumentNullException.ThrowIfNull(files);
        var at = DateTime.UtcNow;
        foreach (var (file, rows) in files)
        {
            await using var insert = connection.CreateCommand();
            insert.Transaction = transaction;
            insert.CommandText = $"INSERT INTO {qualifiedLedger} ({ColumnList(dialect)}) VALUES (@tenant, @target, @source_name, @source_version, @rows, @run_id, @committed_at)";
            foreach (var (name, value) in new (string, object)[]
                { ("tenant", stamp.Tenant), ("target", stamp.Target), ("source_name", file.Name), ("source_version", file.Version), ("rows", rows), ("run_id", stamp.RunId), ("committed_at", at) })
            {
                var parameter = insert.CreateParameter();
                parameter.ParameterName = "@" + name;
                parameter.Value = value;
                insert.Parameters.Add(parameter);
            }

            await insert.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>The ledger rows of (<paramref name="tenant"/>, <paramref name="target"/>), oldest first; the table must exist.</summary>
    public static async Task<IReadOnlyList<LedgerRow>> ReadAsync(
        SqlDialect dialect, DbConnection connection, string qualifiedLedger, string tenant, string target, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(dialect);
        ArgumentNullException.ThrowIfNull(connection);
        await using var query = connection.CreateCommand();
        var q = dialect.Quote;
        query.CommandText = $"SELECT {q("source_name")}, {q("source_version")}, {q("rows")}, {q("run_id")} FROM {qualifiedLedger} WHERE {q("tenant")} = @tenant AND {q("target")} = @target ORDER BY {q("committed_at")}";
        foreach (var (name, value) in new[] { ("tenant", tenant), ("target", target) })
        {
            var parameter = query.CreateParameter();
            parameter.ParameterName = "@" + name;
            parameter.Value = value;
            query.Parameters.Add(parameter);
        }

        var rows = new List<LedgerRow>();
        await using var reader = await query.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            rows.Add(new LedgerRow(reader.GetString(0), reader.GetString(1), reader.GetInt64(2), reader.GetString(3)));
        }

        return rows;
    }

    /// <summary>
    /// One <c>INSERT … VALUES</c> of every file's ledger row with the values as <paramref name="dialect"/>'s literals,
    /// for a database reached without parameters (ClickHouse over HTTP); null when there are no files.
    /// </summary>
    public static string? InsertValuesSql(SqlDialect dialect, string qualifiedLedger, LedgerStamp stamp, IReadOnlyList<(Sources.SourceFile File, long Rows)> files)
    {
        ArgumentNullException.ThrowIfNull(dialect);
        ArgumentNullException.ThrowIfNull(stamp);
        ArgumentNullException.ThrowIfNull(files);
        if (files.Count == 0)
        {
            return null;
        }

        var at = dialect.Literal(DateTime.UtcNow.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture));
        var sql = new StringBuilder($"INSERT INTO {qualifiedLedger} ({ColumnList(dialect)}) VALUES ");
        for (var i = 0; i < files.Count; i++)
        {
            var (file, rows) = files[i];
            sql.Append(i > 0 ? ", " : string.Empty).Append('(')
                .Append(dialect.Literal(stamp.Tenant)).Append(", ").Append(dialect.Literal(stamp.Target)).Append(", ")
                .Append(dialect.Literal(file.Name)).Append(", ").Append(dialect.Literal(file.Version)).Append(", ")
                .Append(rows.ToString(CultureInfo.InvariantCulture)).Append(", ").Append(dialect.Literal(stamp.RunId)).Append(", ")
                .Append(at).Append(')');
        }

        return sql.ToString();
    }
}
