using System.Text.RegularExpressions;
using Apache.Arrow;
using EtlStream.Sinks.Sql;
using EtlStream.Tables;

namespace EtlStream.Sinks.MySql;

/// <summary>
/// MySQL and MariaDB: backquoted identifiers of at most 64 characters, types as <c>COLUMN_TYPE</c> spells them
/// without integer display widths, tables in InnoDB with utf8mb4.
/// </summary>
internal sealed partial class MySqlDialect : SqlDialect
{
    /// <summary>VARCHAR(n) counts characters; above this many a utf8mb4 VARCHAR no longer fits a row, so it is TEXT.</summary>
    private const int MaxVarcharLength = 16383;

    public static MySqlDialect Instance { get; } = new();

    public override string Name => "MySQL";

    /// <summary>64 characters: a UTF-8 character is up to 4 bytes, so 64 bytes is a safe bound that never cuts a name.</summary>
    protected override int MaxIdentifierBytes => 64;

    protected override string TableOptions => " ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin";

    protected override string QuoteValid(string identifier) => "`" + identifier.Replace("`", "``", StringComparison.Ordinal) + "`";

    public override void ValidateIdentifier(string identifier)
    {
        base.ValidateIdentifier(identifier);
        if (identifier.EndsWith(' '))
        {
            throw new ArgumentException($"{Name}: identifier \"{identifier}\" ends with a space, which MySQL does not allow");
        }
    }

    public override string Literal(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return "'" + text.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("'", "''", StringComparison.Ordinal) + "'";
    }

    public override string TypeOf(Field field) => KindOf(field) switch
    {
        // VARCHAR(n) counts characters and the spec's n counts UTF-8 bytes: n characters always hold n bytes.
        ColumnKind.String => MaxLengthOf(field) is { } n and <= MaxVarcharLength ? Invariant($"varchar({n})") : "longtext",
        ColumnKind.Int8 => "tinyint",
        ColumnKind.Int16 => "smallint",
        ColumnKind.Int32 => "int",
        ColumnKind.Int64 => "bigint",
        ColumnKind.Float64 => "double",
        ColumnKind.Bool => "tinyint(1)", // what BOOLEAN is in MySQL
        ColumnKind.Decimal when Decimal(field).Scale <= 30 => Invariant($"decimal({Decimal(field).Precision},{Decimal(field).Scale})"),
        ColumnKind.Date => "date",
        ColumnKind.Timestamp => "datetime(6)", // TIMESTAMP would convert through the session time zone and stops in 2038
        _ => throw Unmapped(field),
    };

    /// <summary><c>bigint(20)</c> → <c>bigint</c>: display widths are not types; <c>tinyint(1)</c> is how booleans read back.</summary>
    public override string NormalizeLiveType(string liveType)
    {
        ArgumentNullException.ThrowIfNull(liveType);
        var type = liveType.ToLowerInvariant();
        return type == "tinyint(1)" ? type : DisplayWidth().Replace(type, "$1");
    }

    /// <summary>
    /// InnoDB keys hold at most 3072 bytes, 768 utf8mb4 characters: a longer or unbounded text key column is keyed by
    /// its first 768 characters. Two keys equal in those and different after them count as one key (a merge would
    /// update the one row instead of adding the second); dimension codes are far shorter.
    /// </summary>
    public override string? KeyConstraint(IReadOnlyList<SqlColumn> columns, IReadOnlyList<string> key)
    {
        ArgumentNullException.ThrowIfNull(columns);
        ArgumentNullException.ThrowIfNull(key);
        var parts = new List<string>(key.Count);
        foreach (var name in key)
        {
            var column = columns.FirstOrDefault(c => string.Equals(c.Name, name, StringComparison.OrdinalIgnoreCase));
            var prefix = column is not null && (column.Type == "longtext" || VarcharLength(column.Type) > MaxKeyChars);
            parts.Add(Quote(name) + (prefix ? Invariant($"({MaxKeyChars})") : string.Empty));
        }

        return "PRIMARY KEY (" + string.Join(", ", parts) + ")";
    }

    private const int MaxKeyChars = 768;

    private static int VarcharLength(string type) =>
        type.StartsWith("varchar(", StringComparison.Ordinal) && int.TryParse(type.AsSpan(8, type.Length - 9), out var n) ? n : 0;

    [GeneratedRegex(@"^(tinyint|smallint|mediumint|int|bigint)\(\d+\)")]
    private static partial Regex DisplayWidth();
}
