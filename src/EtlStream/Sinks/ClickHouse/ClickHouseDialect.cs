using Apache.Arrow;
using EtlStream.Sinks.Sql;
using EtlStream.Tables;

namespace EtlStream.Sinks.ClickHouse;

/// <summary>
/// ClickHouse from 18.16 (Debian's) on: backquoted identifiers, types as <c>system.columns</c> spells them with
/// nullability inside the type, MergeTree tables. 18.16 has no Bool (UInt8 instead), no sub-second DateTime and no
/// dates before 1970: <see cref="ClickHouseSink"/> refuses such values rather than store something else.
/// </summary>
internal sealed class ClickHouseDialect : SqlDialect
{
    public static ClickHouseDialect Instance { get; } = new();

    public override string Name => "ClickHouse";

    protected override string TableOptions => " ENGINE = MergeTree() ORDER BY tuple()";

    /// <summary>A MergeTree key is its sort order, a table option; it enforces nothing (see <see cref="ClickHouseSink"/>'s merge).</summary>
    public override string? KeyConstraint(IReadOnlyList<SqlColumn> columns, IReadOnlyList<string> key) => null;

    public override bool KeyIsUnique => false;

    protected override string KeyedTableOptions(IReadOnlyList<string> key) =>
        " ENGINE = MergeTree() ORDER BY (" + string.Join(", ", key.Select(Quote)) + ")";

    protected override string QuoteValid(string identifier) =>
        "`" + identifier.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("`", "\\`", StringComparison.Ordinal) + "`";

    public override string Literal(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return "'" + text.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("'", "\\'", StringComparison.Ordinal) + "'";
    }

    /// <summary>Nullability is part of a ClickHouse type, so no NOT NULL.</summary>
    public override string ColumnDefinition(SqlColumn column)
    {
        ArgumentNullException.ThrowIfNull(column);
        return Quote(column.Name) + " " + column.Type;
    }

    public override string TypeOf(Field field)
    {
        var type = KindOf(field) switch
        {
            ColumnKind.String => "String", // no length: ClickHouse strings are unbounded bytes
            ColumnKind.Int8 => "Int8",
            ColumnKind.Int16 => "Int16",
            ColumnKind.Int32 => "Int32",
            ColumnKind.Int64 => "Int64",
            ColumnKind.Float64 => "Float64",
            ColumnKind.Bool => "UInt8",
            ColumnKind.Decimal => Invariant($"Decimal({Decimal(field).Precision}, {Decimal(field).Scale})"),
            ColumnKind.Date => "Date",
            ColumnKind.Timestamp => "DateTime",
            _ => throw Unmapped(field),
        };
        return field.IsNullable ? "Nullable(" + type + ")" : type;
    }

    /// <summary>A field of ClickHouse's TabSeparated output, its escapes undone: <c>\t \n \r \0 \b \f</c> and a backslash before any other character.</summary>
    public static string UnescapeTabSeparated(string field)
    {
        ArgumentNullException.ThrowIfNull(field);
        if (!field.Contains('\\', StringComparison.Ordinal))
        {
            return field;
        }

        var sb = new System.Text.StringBuilder(field.Length);
        for (var i = 0; i < field.Length; i++)
        {
            if (field[i] != '\\' || i + 1 == field.Length)
            {
                sb.Append(field[i]);
                continue;
            }

            sb.Append(field[++i] switch { 't' => '\t', 'n' => '\n', 'r' => '\r', '0' => '\0', 'b' => '\b', 'f' => '\f', var other => other });
        }

        return sb.ToString();
    }
}
