using System.Globalization;
using System.Text;
using Apache.Arrow;
using Apache.Arrow.Types;
using EtlStream.Tables;
using MySqlConnector;

namespace EtlStream.Sinks.StarRocks;

/// <summary>Which SQL a statement is written for.</summary>
public enum SqlDialect
{
    StarRocks,
    Doris,

    /// <summary>The MySQL-compatible subset (tables without the OLAP clauses): what the tests run against MariaDB.</summary>
    MySql,
}

/// <summary>How a table is laid out on a StarRocks/Doris cluster: buckets and table properties.</summary>
public sealed record StarRocksTableLayout
{
    public int Buckets { get; init; } = 8;

    /// <summary>Written in key order, e.g. <c>replication_num = 1</c>.</summary>
    public IReadOnlyDictionary<string, string> Properties { get; init; } = new SortedDictionary<string, string>(StringComparer.Ordinal);
}

/// <summary>A live column as <c>information_schema.columns</c> has it.</summary>
public sealed record LiveColumn(string Name, string DataType, long? MaxLength, bool Nullable);

/// <summary>
/// The SQL the sink and init-db send through the FE's MySQL port. Every identifier is validated and quoted here;
/// values are parameters; nothing from a data file is ever spliced into SQL text.
/// </summary>
public static class StarRocksSql
{
    /// <summary>StarRocks' widest VARCHAR, in bytes: widening stops here.</summary>
    public const int MaxVarcharBytes = 1_048_576;

    /// <summary>Why <paramref name="name"/> cannot be an identifier, or null when it can.</summary>
    public static string? IdentifierProblem(string? name)
    {
        if (string.IsNullOrEmpty(name))
        {
            return "empty name";
        }

        if (name.Length > 64)
        {
            return $"'{name}' is longer than 64 characters";
        }

        if (!(char.IsAsciiLetter(name[0]) || name[0] == '_'))
        {
            return $"'{name}' must start with a letter or '_'";
        }

        foreach (var ch in name)
        {
            if (!(char.IsAsciiLetterOrDigit(ch) || ch == '_'))
            {
                return $"'{name}' may hold only letters, digits and '_'";
            }
        }

        return null;
    }

    /// <summary>The identifier in backquotes, after checking it.</summary>
    public static string Quote(string name) =>
        IdentifierProblem(name) is { } problem ? throw new ArgumentException($"invalid identifier: {problem}", nameof(name)) : $"`{name}`";

    public static string CreateDatabase(string database) => $"CREATE DATABASE IF NOT EXISTS {Quote(database)}";

    /// <summary>
    /// <c>CREATE TABLE IF NOT EXISTS</c> for the columns of <paramref name="schema"/>. With a key: the PRIMARY KEY model
    /// (key columns first and NOT NULL, as StarRocks requires); without: the DUPLICATE KEY model on the first column.
    /// </summary>
    public static string CreateTable(SqlDialect dialect, string database, string table, Schema schema, IReadOnlyList<string> key, StarRocksTableLayout? layout = null)
    {
        ArgumentNullException.ThrowIfNull(schema);
        layout ??= new StarRocksTableLayout();
        var fields = schema.FieldsList;
        var keySet = new HashSet<string>(key, StringComparer.OrdinalIgnoreCase);
        foreach (var k in key)
        {
            if (!fields.Any(f => f.Name.Equals(k, StringComparison.OrdinalIgnoreCase)))
            {
                throw new ArgumentException($"key column '{k}' is not a column of {table}", nameof(key));
            }
        }

        // StarRocks wants the key columns as the leading columns, in key order.
        var ordered = key.Select(k => fields.First(f => f.Name.Equals(k, StringComparison.OrdinalIgnoreCase)))
            .Concat(fields.Where(f => !keySet.Contains(f.Name)))
            .ToList();
        var sb = new StringBuilder();
        sb.Append("CREATE TABLE IF NOT EXISTS ").Append(Quote(database)).Append('.').Append(Quote(table)).Append(" (\n");
        for (var i = 0; i < ordered.Count; i++)
        {
            var f = ordered[i];
            var nullable = f.IsNullable && !keySet.Contains(f.Name);
            sb.Append("  ").Append(Quote(f.Name)).Append(' ').Append(TypeOf(dialect, f)).Append(nullable ? " NULL" : " NOT NULL");
            sb.Append(i < ordered.Count - 1 || (dialect == SqlDialect.MySql && key.Count > 0) ? ",\n" : "\n");
        }

        var keyList = string.Join(", ", (key.Count > 0 ? key : [ordered[0].Name]).Select(k => Quote(ordered.First(f => f.Name.Equals(k, StringComparison.OrdinalIgnoreCase)).Name)));
        if (dialect == SqlDialect.MySql)
        {
            if (key.Count > 0)
            {
                sb.Append("  PRIMARY KEY (").Append(keyList).Append(")\n");
            }

            return sb.Append(')').ToString();
        }

        sb.Append(')');
        if (dialect == SqlDialect.StarRocks)
        {
            sb.Append(" ENGINE=OLAP");
        }

        sb.Append('\n');
        sb.Append(key.Count > 0 ? (dialect == SqlDialect.Doris ? "UNIQUE KEY(" : "PRIMARY KEY(") : "DUPLICATE KEY(").Append(keyList).Append(")\n");
        sb.Append("DISTRIBUTED BY HASH(").Append(keyList).Append(") BUCKETS ").Append(layout.Buckets.ToString(CultureInfo.InvariantCulture));
        if (dialect == SqlDialect.Doris && key.Count > 0 && !layout.Properties.ContainsKey("enable_unique_key_merge_on_write"))
        {
            // Doris' closest to StarRocks' primary key model: merge-on-write unique keys.
            layout = layout with { Properties = new SortedDictionary<string, string>(layout.Properties.ToDictionary(), StringComparer.Ordinal) { ["enable_unique_key_merge_on_write"] = "true" } };
        }

        if (layout.Properties.Count > 0)
        {
            sb.Append("\nPROPERTIES (");
            sb.Append(string.Join(", ", layout.Properties.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => $"{StringLiteral(p.Key)} = {StringLiteral(p.Value)}")));
            sb.Append(')');
        }

        return sb.ToString();
    }

    /// <summary>The column type for an engine column: VARCHAR lengths come from the field's <c>etlstream.max_length</c>.</summary>
    public static string TypeOf(SqlDialect dialect, Field field)
    {
        ArgumentNullException.ThrowIfNull(field);
        return ArrowTypes.KindOf(field.DataType) switch
        {
            ColumnKind.String => field.Metadata?.TryGetValue(ArrowTypes.MaxLengthKey, out var n) == true
                ? $"VARCHAR({int.Parse(n, CultureInfo.InvariantCulture)})"
                : dialect == SqlDialect.MySql ? "TEXT" : "STRING",
            ColumnKind.Int8 => "TINYINT",
            ColumnKind.Int16 => "SMALLINT",
            ColumnKind.Int32 => "INT",
            ColumnKind.Int64 => "BIGINT",
            ColumnKind.Decimal => $"DECIMAL({((Decimal128Type)field.DataType).Precision},{((Decimal128Type)field.DataType).Scale})",
            ColumnKind.Float64 => "DOUBLE",
            ColumnKind.Bool => "BOOLEAN",
            ColumnKind.Date => "DATE",
            ColumnKind.Timestamp => dialect == SqlDialect.MySql ? "DATETIME(6)" : "DATETIME",
            var other => throw new NotSupportedException($"no SQL type for {other}"),
        };
    }

    /// <summary>Widens a VARCHAR column (the caller never asks for less than the live length), keeping its nullability.</summary>
    public static string WidenVarchar(string database, string table, string column, int length, bool nullable) =>
        length is < 1 or > MaxVarcharBytes
            ? throw new ArgumentOutOfRangeException(nameof(length), length, $"a VARCHAR length is 1..{MaxVarcharBytes}")
            : $"ALTER TABLE {Quote(database)}.{Quote(table)} MODIFY COLUMN {Quote(column)} VARCHAR({length.ToString(CultureInfo.InvariantCulture)}){(nullable ? " NULL" : " NOT NULL")}";

    /// <summary>The live columns of a table in their order; empty when the table does not exist.</summary>
    public static async Task<IReadOnlyList<LiveColumn>> ReadColumnsAsync(MySqlConnection connection, string database, string table, CancellationToken cancellationToken)
    {
        var live = await MySql.MySqlColumns.ReadAsync(connection, database, table, cancellationToken).ConfigureAwait(false);
        return live.ConvertAll(c => new LiveColumn(c.Name, c.DataType, c.MaxLength, c.Nullable));
    }

    /// <summary>
    /// The differences between the engine's columns and the live table that stop a load: columns the table lacks,
    /// and NOT NULL columns without a value in the body. Extra nullable table columns are listed as warnings.
    /// </summary>
    public static (IReadOnlyList<string> Errors, IReadOnlyList<string> Warnings) Compare(Schema schema, IReadOnlyList<LiveColumn> live, string table)
    {
        ArgumentNullException.ThrowIfNull(schema);
        ArgumentNullException.ThrowIfNull(live);
        var errors = new List<string>();
        var warnings = new List<string>();
        if (live.Count == 0)
        {
            errors.Add($"table {table} does not exist (run init-db)");
            return (errors, warnings);
        }

        foreach (var f in schema.FieldsList)
        {
            if (!live.Any(c => c.Name.Equals(f.Name, StringComparison.OrdinalIgnoreCase)))
            {
                errors.Add($"{table}.{f.Name}: missing in the live table");
            }
        }

        foreach (var c in live)
        {
            if (!schema.FieldsList.Any(f => f.Name.Equals(c.Name, StringComparison.OrdinalIgnoreCase)))
            {
                (c.Nullable ? warnings : errors).Add($"{table}.{c.Name}: in the live table but not in the spec{(c.Nullable ? " (loads NULL)" : " and NOT NULL")}");
            }
        }

        return (errors, warnings);
    }

    private static string StringLiteral(string value) => "\"" + value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal) + "\"";
}
