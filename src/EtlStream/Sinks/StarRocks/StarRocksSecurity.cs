namespace EtlStream.Sinks.StarRocks;

/// <summary>
/// Row-level security DDL. Open-source StarRocks has no row access policy: a secure view keeps the rows whose
/// restricting column holds a value the current user is mapped to in the access table, and SELECT is granted on the
/// view only. Doris has native <c>CREATE ROW POLICY</c>. All identifiers are validated and quoted; the only literals
/// are validated column names and (Doris) values escaped here.
/// </summary>
internal static class StarRocksSecurity
{
    /// <summary>
    /// The bare user name of the session: StarRocks' <c>current_user()</c> says <c>'alice'@'%'</c>; the access table
    /// holds <c>alice</c>. (In a StarRocks view, <c>SECURITY NONE</c> by default, <c>current_user()</c> is the querying user.)
    /// </summary>
    public const string CurrentUserName = "SUBSTRING_INDEX(REPLACE(CURRENT_USER(), '''', ''), '@', 1)";

    /// <summary>
    /// The same for MySQL/MariaDB, whose views run as their definer, where <c>CURRENT_USER()</c> is the definer:
    /// <c>USER()</c> is the session's <c>alice@host</c>.
    /// </summary>
    public const string SessionUserName = "SUBSTRING_INDEX(REPLACE(USER(), '''', ''), '@', 1)";

    /// <summary>The access table: which user may see which values of which column.</summary>
    public static string CreateAccessTable(SqlDialect dialect, string database, string accessTable)
    {
        var q = StarRocksSql.Quote;
        var sql = $"""
            CREATE TABLE IF NOT EXISTS {q(database)}.{q(accessTable)} (
              `user_name` VARCHAR(128) NOT NULL,
              `column_name` VARCHAR(64) NOT NULL,
              `allowed_value` VARCHAR(256) NOT NULL
            )
            """;
        return dialect switch
        {
            SqlDialect.MySql => sql,
            SqlDialect.StarRocks => sql + " ENGINE=OLAP\nDUPLICATE KEY(`user_name`)\nDISTRIBUTED BY HASH(`user_name`) BUCKETS 1",
            _ => sql + "\nDUPLICATE KEY(`user_name`)\nDISTRIBUTED BY HASH(`user_name`) BUCKETS 1",
        };
    }

    /// <summary>A view of <paramref name="table"/> keeping the rows whose <paramref name="column"/> the current user is mapped to.</summary>
    public static string CreateSecureView(SqlDialect dialect, string database, string table, string view, string column, string accessTable)
    {
        var q = StarRocksSql.Quote;
        return $"""
            CREATE OR REPLACE VIEW {q(database)}.{q(view)} AS
            SELECT t.* FROM {q(database)}.{q(table)} t
            WHERE t.{q(column)} IN (
              SELECT a.`allowed_value` FROM {q(database)}.{q(accessTable)} a
              WHERE a.`user_name` = {(dialect == SqlDialect.MySql ? SessionUserName : CurrentUserName)}
                AND a.`column_name` = '{ValidatedName(column)}')
            """;
    }

    /// <summary>SELECT on the view (not the table) for a role.</summary>
    public static string GrantSelect(SqlDialect dialect, string database, string view, string role)
    {
        var q = StarRocksSql.Quote;
        return dialect == SqlDialect.MySql
            ? $"GRANT SELECT ON {q(database)}.{q(view)} TO {q(role)}"
            : $"GRANT SELECT ON VIEW {q(database)}.{q(view)} TO ROLE {q(role)}";
    }

    /// <summary>Doris: a restrictive row policy letting <paramref name="role"/> see the rows whose column holds one of <paramref name="values"/>.</summary>
    public static string DorisRowPolicy(string policy, string database, string table, string role, string column, IReadOnlyList<string> values)
    {
        ArgumentNullException.ThrowIfNull(values);
        if (values.Count == 0)
        {
            throw new ArgumentException("a row policy needs at least one allowed value", nameof(values));
        }

        var q = StarRocksSql.Quote;
        var list = string.Join(", ", values.Select(v => "'" + v.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("'", "''", StringComparison.Ordinal) + "'"));
        return $"CREATE ROW POLICY IF NOT EXISTS {q(policy)} ON {q(database)}.{q(table)} AS RESTRICTIVE TO ROLE {q(role)} USING ({q(column)} IN ({list}))";
    }

    private static string ValidatedName(string name) => StarRocksSql.Quote(name)[1..^1];
}
