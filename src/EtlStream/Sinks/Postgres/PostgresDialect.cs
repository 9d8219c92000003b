using Apache.Arrow;
using EtlStream.Sinks.Sql;
using EtlStream.Tables;

namespace EtlStream.Sinks.Postgres;

/// <summary>PostgreSQL: double-quoted identifiers of at most 63 bytes, types as <c>format_type()</c> spells them.</summary>
internal sealed class PostgresDialect : SqlDialect
{
    public static PostgresDialect Instance { get; } = new();

    public override string Name => "PostgreSQL";

    /// <summary>NAMEDATALEN − 1: PostgreSQL would silently truncate a longer name.</summary>
    protected override int MaxIdentifierBytes => 63;

    /// <summary>
    /// <c>&lt;table&gt;_pkey</c>, the name PostgreSQL gives a table's primary key, with the table's part cut (at a
    /// character) so the whole fits 63 bytes, as PostgreSQL cuts it.
    /// </summary>
    public static string PrimaryKeyName(string table)
    {
        ArgumentNullException.ThrowIfNull(table);
        const string Suffix = "_pkey";
        var stem = table;
        while (System.Text.Encoding.UTF8.GetByteCount(stem) + Suffix.Length > 63)
        {
            stem = stem[..(char.IsLowSurrogate(stem[^1]) ? stem.Length - 2 : stem.Length - 1)];
        }

        return stem + Suffix;
    }

    protected override string QuoteValid(string identifier) => "\"" + identifier.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";

    /// <summary>Staging rows are published (copied or renamed) before they matter, so they need no WAL.</summary>
    protected override string CreateTableKeyword(bool staging) => staging ? "CREATE UNLOGGED TABLE" : "CREATE TABLE";

    public override string TypeOf(Field field) => KindOf(field) switch
    {
        ColumnKind.String => MaxLengthOf(field) is { } n ? Invariant($"character varying({n})") : "text",
        ColumnKind.Int8 => "smallint", // PostgreSQL has no one-byte integer
        ColumnKind.Int16 => "smallint",
        ColumnKind.Int32 => "integer",
        ColumnKind.Int64 => "bigint",
        ColumnKind.Float64 => "double precision",
        ColumnKind.Bool => "boolean",
        ColumnKind.Decimal => Invariant($"numeric({Decimal(field).Precision},{Decimal(field).Scale})"),
        ColumnKind.Date => "date",
        ColumnKind.Timestamp => "timestamp without time zone",
        _ => throw Unmapped(field),
    };
}
