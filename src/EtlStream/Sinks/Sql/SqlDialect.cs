using System.Globalization;
using System.Text;
using Apache.Arrow;
using Apache.Arrow.Types;
using EtlStream.Tables;

namespace EtlStream.Sinks.Sql;

/// <summary>A column of a SQL table: its name, its type spelled as the database reports it back, and nullability.</summary>
public sealed record SqlColumn(string Name, string Type, bool Nullable = true);

/// <summary>
/// One SQL database's spelling of what the sinks share: identifier rules and quoting, the column type an Arrow field
/// is stored as, and the DDL around them. Types are spelled exactly as the database's catalog reports them back
/// (after <see cref="NormalizeLiveType"/>), so that the live schema can be compared with the data's as plain text.
/// </summary>
public abstract class SqlDialect
{
    /// <summary>The database's name in messages: <c>PostgreSQL</c>, <c>MySQL</c>, …</summary>
    public abstract string Name { get; }

    /// <summary>Longest identifier in UTF-8 bytes; longer names are refused instead of silently cut, as PostgreSQL would.</summary>
    protected virtual int MaxIdentifierBytes => int.MaxValue;

    /// <summary>The type an Arrow field is stored as, spelled as the catalog reports it.</summary>
    public abstract string TypeOf(Field field);

    /// <summary>Quotes a valid identifier (see <see cref="ValidateIdentifier"/>).</summary>
    public string Quote(string identifier)
    {
        ValidateIdentifier(identifier);
        return QuoteValid(identifier);
    }

    protected abstract string QuoteValid(string identifier);

    /// <summary>Refuses names the database cannot hold as given: empty, with NUL, or too long.</summary>
    public virtual void ValidateIdentifier(string identifier)
    {
        ArgumentNullException.ThrowIfNull(identifier);
        if (identifier.Length == 0)
        {
            throw new ArgumentException($"{Name}: an identifier may not be empty");
        }

        if (identifier.Contains('\0', StringComparison.Ordinal))
        {
            throw new ArgumentException($"{Name}: identifier \"{identifier.Replace("\0", "\\0", StringComparison.Ordinal)}\" contains a NUL character");
        }

        if (Encoding.UTF8.GetByteCount(identifier) > MaxIdentifierBytes)
        {
            throw new ArgumentException($"{Name}: identifier \"{identifier}\" is longer than {MaxIdentifierBytes} bytes");
        }
    }

    /// <summary>A type as the catalog reports it, in this dialect's spelling (e.g. MySQL's display widths removed).</summary>
    public virtual string NormalizeLiveType(string liveType) => liveType;

    /// <summary>The columns a schema's fields are stored as.</summary>
    public SqlColumn[] ColumnsOf(Schema schema)
    {
        ArgumentNullException.ThrowIfNull(schema);
        var columns = new SqlColumn[schema.FieldsList.Count];
        for (var i = 0; i < columns.Length; i++)
        {
            var field = schema.FieldsList[i];
            ValidateIdentifier(field.Name);
            columns[i] = new SqlColumn(field.Name, TypeOf(field), field.IsNullable);
        }

        return columns;
    }

    /// <summary>One column of a CREATE TABLE or ADD COLUMN.</summary>
    public virtual string ColumnDefinition(SqlColumn column) =>
        Quote(column.Name) + " " + column.Type + (column.Nullable ? string.Empty : " NOT NULL");

    /// <summary>
    /// <c>CREATE TABLE</c> for <paramref name="qualifiedTable"/> (already quoted), with the dialect's table options and,
    /// with a <paramref name="key"/>, the dialect's key (<see cref="KeyConstraint"/>, <see cref="KeyedTableOptions"/>).
    /// </summary>
    public string CreateTableSql(
        string qualifiedTable, IReadOnlyList<SqlColumn> columns, bool ifNotExists = false, bool staging = false, IReadOnlyList<string>? key = null)
    {
        ArgumentNullException.ThrowIfNull(columns);
        var sql = new StringBuilder(CreateTableKeyword(staging)).Append(ifNotExists ? " IF NOT EXISTS " : " ");
        sql.Append(qualifiedTable).Append(" (");
        for (var i = 0; i < columns.Count; i++)
        {
            sql.Append(i > 0 ? ", " : string.Empty).Append(ColumnDefinition(columns[i]));
        }

        var keyed = key is { Count: > 0 };
        if (keyed && KeyConstraint(columns, key!) is { } constraint)
        {
            sql.Append(", ").Append(constraint);
        }

        return sql.Append(')').Append(keyed ? KeyedTableOptions(key!) : TableOptions).ToString();
    }

    /// <summary>
    /// The constraint that makes <paramref name="key"/> the table's key, inside the column list: <c>PRIMARY KEY (…)</c>;
    /// null for a database whose key is a table option instead (ClickHouse's sort order).
    /// </summary>
    public virtual string? KeyConstraint(IReadOnlyList<SqlColumn> columns, IReadOnlyList<string> key)
    {
        ArgumentNullException.ThrowIfNull(key);
        return "PRIMARY KEY (" + string.Join(", ", key.Select(Quote)) + ")";
    }

    /// <summary>
    /// Whether <see cref="KeyConstraint"/> enforces one row per key. Where it does, a staging table is created without it
    /// (the run's duplicates are found by one query with the key in the message, and the index is built once, after the
    /// load); where it does not (ClickHouse), staging gets the key's sort order from the start, as it cannot be added later.
    /// </summary>
    public virtual bool KeyIsUnique => true;

    /// <summary>Table options of a keyed table (default: <see cref="TableOptions"/>).</summary>
    protected virtual string KeyedTableOptions(IReadOnlyList<string> key) => TableOptions;

    /// <summary><c>ALTER TABLE … ADD</c> the key's constraint, for a staging table about to become a keyed target.</summary>
    public string AddKeySql(string qualifiedTable, IReadOnlyList<SqlColumn> columns, IReadOnlyList<string> key) =>
        $"ALTER TABLE {qualifiedTable} ADD {KeyConstraint(columns, key)}";

    /// <summary><c>CREATE TABLE</c>, or e.g. PostgreSQL's <c>CREATE UNLOGGED TABLE</c> for a staging table nobody must recover.</summary>
    protected virtual string CreateTableKeyword(bool staging) => "CREATE TABLE";

    /// <summary>What follows the column list: an engine, a character set.</summary>
    protected virtual string TableOptions => string.Empty;

    public string AddColumnSql(string qualifiedTable, SqlColumn column) =>
        $"ALTER TABLE {qualifiedTable} ADD COLUMN {ColumnDefinition(column)}";

    /// <summary>A string literal with single quotes doubled (and backslashes doubled where the dialect escapes with them).</summary>
    public virtual string Literal(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return "'" + text.Replace("'", "''", StringComparison.Ordinal) + "'";
    }

    /// <summary>A field's declared VARCHAR length in UTF-8 bytes (<see cref="ArrowTypes.MaxLengthKey"/>), or null for unbounded text.</summary>
    protected static int? MaxLengthOf(Field field)
    {
        ArgumentNullException.ThrowIfNull(field);
        return field.Metadata is { } m && m.TryGetValue(ArrowTypes.MaxLengthKey, out var text)
            && int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n > 0 ? n : null;
    }

    /// <summary>The column kind of a field, or a failure naming the column and this database.</summary>
    protected ColumnKind KindOf(Field field)
    {
        ArgumentNullException.ThrowIfNull(field);
        try
        {
            return ArrowTypes.KindOf(field.DataType);
        }
        catch (NotSupportedException)
        {
            throw Unmapped(field);
        }
    }

    protected NotSupportedException Unmapped(Field field) =>
        new($"Column \"{field.Name}\": Arrow type {field.DataType} has no {Name} mapping in this sink.");

    protected static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);

    protected static Decimal128Type Decimal(Field field) => (Decimal128Type)field.DataType;
}
