using Apache.Arrow;
using Apache.Arrow.Types;
using EtlStream.Sinks.StarRocks;
using EtlStream.Tables;
using EtlStream.Tests.Servers;
using MySqlConnector;

namespace EtlStream.Tests.StarRocks;

/// <summary>DDL and RLS text, exactly; the MySQL-compatible forms are also executed against MariaDB and read back.</summary>
[Collection(MariaDbCollection.Name)]
public sealed class StarRocksSqlTests(MariaDbServer mariaDb)
{
    private static readonly Schema Invoice = new Schema.Builder()
        .Field(new Field("name", StringType.Default, true, [new(ArrowTypes.MaxLengthKey, "20")]))
        .Field(new Field("id", Int64Type.Default, false))
        .Field(new Field("amount", new Decimal128Type(18, 2), true))
        .Field(new Field("day", Date32Type.Default, true))
        .Field(new Field("at", ArrowTypes.Timestamp, true))
        .Field(new Field("flag", BooleanType.Default, true))
        .Field(new Field("note", StringType.Default, true))
        .Field(new Field("qty", Int32Type.Default, true))
        .Build();

    private static readonly StarRocksTableLayout Layout = new() { Buckets = 4, Properties = new SortedDictionary<string, string> { ["replication_num"] = "1" } };

    [Fact]
    public void StarRocks_primary_key_table_puts_the_key_first_and_not_null()
    {
        Assert.Equal("""
            CREATE TABLE IF NOT EXISTS `sales`.`fact` (
              `id` BIGINT NOT NULL,
              `name` VARCHAR(20) NULL,
              `amount` DECIMAL(18,2) NULL,
              `day` DATE NULL,
              `at` DATETIME NULL,
              `flag` BOOLEAN NULL,
              `note` STRING NULL,
              `qty` INT NULL
            ) ENGINE=OLAP
            PRIMARY KEY(`id`)
            DISTRIBUTED BY HASH(`id`) BUCKETS 4
            PROPERTIES ("replication_num" = "1")
            """, StarRocksSql.CreateTable(SqlDialect.StarRocks, "sales", "fact", Invoice, ["id"], Layout));
    }

    [Fact]
    public void StarRocks_without_a_key_is_a_duplicate_key_table_on_the_first_column()
    {
        Assert.Equal("""
            CREATE TABLE IF NOT EXISTS `sales`.`fact` (
              `name` VARCHAR(20) NULL,
              `id` BIGINT NOT NULL,
              `amount` DECIMAL(18,2) NULL,
              `day` DATE NULL,
              `at` DATETIME NULL,
              `flag` BOOLEAN NULL,
              `note` STRING NULL,
              `qty` INT NULL
            ) ENGINE=OLAP
            DUPLICATE KEY(`name`)
            DISTRIBUTED BY HASH(`name`) BUCKETS 8
            """, StarRocksSql.CreateTable(SqlDialect.StarRocks, "sales", "fact", Invoice, []));
    }

    [Fact]
    public void Doris_keyed_table_is_a_merge_on_write_unique_key_table()
    {
        Assert.Equal("""
            CREATE TABLE IF NOT EXISTS `sales`.`fact` (
              `id` BIGINT NOT NULL,
              `name` VARCHAR(20) NULL,
              `amount` DECIMAL(18,2) NULL,
              `day` DATE NULL,
              `at` DATETIME NULL,
              `flag` BOOLEAN NULL,
              `note` STRING NULL,
              `qty` INT NULL
            )
            UNIQUE KEY(`id`)
            DISTRIBUTED BY HASH(`id`) BUCKETS 4
            PROPERTIES ("enable_unique_key_merge_on_write" = "true", "replication_num" = "1")
            """, StarRocksSql.CreateTable(SqlDialect.Doris, "sales", "fact", Invoice, ["id"], Layout));
    }

    [Fact]
    public async Task Init_db_creates_the_mysql_compatible_tables_and_reads_them_back_from_information_schema()
    {
        var db = await mariaDb.CreateDatabaseAsync("srddl");
        Assert.Equal("""
            CREATE TABLE IF NOT EXISTS `x`.`fact` (
              `id` BIGINT NOT NULL,
              `name` VARCHAR(20) NULL,
              `amount` DECIMAL(18,2) NULL,
              `day` DATE NULL,
              `at` DATETIME(6) NULL,
              `flag` BOOLEAN NULL,
              `note` TEXT NULL,
              `qty` INT NULL,
              PRIMARY KEY (`id`)
            )
            """, StarRocksSql.CreateTable(SqlDialect.MySql, "x", "fact", Invoice, ["id"]));

        await using var c = new MySqlConnection(mariaDb.ConnectionString());
        await c.OpenAsync();
        var tables = new[] { new StarRocksTableDefinition("fact", Invoice, ["id"]) };
        var done = await StarRocksDatabase.InitializeAsync(c, SqlDialect.MySql, db, tables, null, default);
        var again = await StarRocksDatabase.InitializeAsync(c, SqlDialect.MySql, db, tables, null, default); // idempotent

        Assert.Equal([$"table {db}.fact (8 columns)"], done);
        Assert.Equal(done, again);
        var live = await StarRocksSql.ReadColumnsAsync(c, db, "fact", default);
        Assert.Equal(
            [("id", "BIGINT", false), ("name", "VARCHAR", true), ("amount", "DECIMAL", true), ("day", "DATE", true), ("at", "DATETIME", true), ("flag", "TINYINT", true), ("note", "TEXT", true), ("qty", "INT", true)],
            live.Select(l => (l.Name, l.DataType, l.Nullable)));
        Assert.Equal(20, live[1].MaxLength);
    }

    [Fact]
    public async Task Schema_comparison_reports_missing_and_extra_columns_before_any_load()
    {
        var db = await mariaDb.CreateDatabaseAsync("srcmp");
        await mariaDb.ExecuteAsync("CREATE TABLE fact (id BIGINT NOT NULL, extra_nullable INT NULL, extra_required INT NOT NULL, name VARCHAR(20))", db);
        await using var c = new MySqlConnection(mariaDb.ConnectionString());
        await c.OpenAsync();

        var (errors, warnings) = StarRocksSql.Compare(Invoice, await StarRocksSql.ReadColumnsAsync(c, db, "fact", default), "fact");

        Assert.Equal(
            ["fact.amount: missing in the live table", "fact.day: missing in the live table", "fact.at: missing in the live table", "fact.flag: missing in the live table",
             "fact.note: missing in the live table", "fact.qty: missing in the live table", "fact.extra_required: in the live table but not in the spec and NOT NULL"],
            errors);
        Assert.Equal(["fact.extra_nullable: in the live table but not in the spec (loads NULL)"], warnings);
        Assert.Equal(["table nope does not exist (run init-db)"], StarRocksSql.Compare(Invoice, await StarRocksSql.ReadColumnsAsync(c, db, "nope", default), "nope").Errors);
    }

    [Fact]
    public async Task Widening_sql_is_exact_never_shrinks_past_the_limit_and_runs_on_mariadb()
    {
        var db = await mariaDb.CreateDatabaseAsync("srwide");
        await mariaDb.ExecuteAsync("CREATE TABLE t (name VARCHAR(5) NOT NULL)", db);
        var sql = StarRocksSql.WidenVarchar(db, "t", "name", 12, nullable: false);

        Assert.Equal($"ALTER TABLE `{db}`.`t` MODIFY COLUMN `name` VARCHAR(12) NOT NULL", sql);
        await mariaDb.ExecuteAsync(sql);
        Assert.Equal(12L, Convert.ToInt64(await mariaDb.ScalarAsync($"SELECT CHARACTER_MAXIMUM_LENGTH FROM information_schema.columns WHERE TABLE_SCHEMA = '{db}' AND TABLE_NAME = 't'"), System.Globalization.CultureInfo.InvariantCulture));
        Assert.Throws<ArgumentOutOfRangeException>(() => StarRocksSql.WidenVarchar(db, "t", "name", StarRocksSql.MaxVarcharBytes + 1, true));
    }

    [Theory]
    [InlineData("ok_name1", null)]
    [InlineData("a`b", "'a`b' may hold only letters, digits and '_'")]
    [InlineData("x; DROP TABLE y", "'x; DROP TABLE y' may hold only letters, digits and '_'")]
    [InlineData("1abc", "'1abc' must start with a letter or '_'")]
    [InlineData("", "empty name")]
    public void Identifiers_are_validated_before_they_are_quoted(string name, string? problem)
    {
        Assert.Equal(problem, StarRocksSql.IdentifierProblem(name));
        if (problem is not null)
        {
            Assert.Throws<ArgumentException>(() => StarRocksSql.Quote(name));
        }
    }

    [Fact]
    public void Secure_view_and_grant_text_is_exact()
    {
        Assert.Equal("""
            CREATE OR REPLACE VIEW `sales`.`fact_secure` AS
            SELECT t.* FROM `sales`.`fact` t
            WHERE t.`region` IN (
              SELECT a.`allowed_value` FROM `sales`.`rls_access` a
              WHERE a.`user_name` = SUBSTRING_INDEX(REPLACE(CURRENT_USER(), '''', ''), '@', 1)
                AND a.`column_name` = 'region')
            """, StarRocksSecurity.CreateSecureView(SqlDialect.StarRocks, "sales", "fact", "fact_secure", "region", "rls_access"));
        Assert.Equal("GRANT SELECT ON VIEW `sales`.`fact_secure` TO ROLE `analyst`", StarRocksSecurity.GrantSelect(SqlDialect.StarRocks, "sales", "fact_secure", "analyst"));
        Assert.Equal("GRANT SELECT ON `sales`.`fact_secure` TO `analyst`", StarRocksSecurity.GrantSelect(SqlDialect.MySql, "sales", "fact_secure", "analyst"));
        Assert.Equal(
            "CREATE ROW POLICY IF NOT EXISTS `north_only` ON `sales`.`fact` AS RESTRICTIVE TO ROLE `analyst` USING (`region` IN ('North', 'O''Brien\\\\x'))",
            StarRocksSecurity.DorisRowPolicy("north_only", "sales", "fact", "analyst", "region", ["North", "O'Brien\\x"]));
    }

    [Fact]
    public async Task The_secure_view_shows_each_user_only_their_mapped_rows_on_mariadb()
    {
        var db = await mariaDb.CreateDatabaseAsync("srrls");
        var user = "sr_bob_" + db[^6..];
        await mariaDb.ExecuteAsync("CREATE TABLE fact (id INT, region VARCHAR(10))", db);
        await mariaDb.ExecuteAsync("INSERT INTO fact VALUES (1, 'north'), (2, 'south'), (3, 'north'), (4, 'east')", db);
        await mariaDb.ExecuteAsync(StarRocksSecurity.CreateAccessTable(SqlDialect.MySql, db, "rls_access"));
        await mariaDb.ExecuteAsync(StarRocksSecurity.CreateSecureView(SqlDialect.MySql, db, "fact", "fact_secure", "region", "rls_access"));
        await mariaDb.ExecuteAsync($"INSERT INTO rls_access VALUES ('{user}', 'region', 'south'), ('{user}', 'region', 'east'), ('{user}', 'other', 'north'), ('{MariaDbServer.User}', 'region', 'north')", db);
        await mariaDb.ExecuteAsync("CREATE ROLE IF NOT EXISTS sr_analyst");
        await mariaDb.ExecuteAsync(StarRocksSecurity.GrantSelect(SqlDialect.MySql, db, "fact_secure", "sr_analyst"));
        await mariaDb.ExecuteAsync($"CREATE USER '{user}'@'%' IDENTIFIED BY 'bob-pw-123'");
        await mariaDb.ExecuteAsync($"GRANT sr_analyst TO '{user}'@'%'");
        await mariaDb.ExecuteAsync($"SET DEFAULT ROLE sr_analyst FOR '{user}'@'%'");

        await using var bob = new MySqlConnection(mariaDb.ConnectionString(db, user, "bob-pw-123"));
        await bob.OpenAsync();
        await using var view = new MySqlCommand("SELECT GROUP_CONCAT(id ORDER BY id SEPARATOR ',') FROM fact_secure", bob);
        Assert.Equal("2,4", await view.ExecuteScalarAsync());
        await using var table = new MySqlCommand("SELECT COUNT(*) FROM fact", bob);
        var denied = await Assert.ThrowsAsync<MySqlException>(() => table.ExecuteScalarAsync());
        Assert.Contains("denied", denied.Message, StringComparison.Ordinal); // SELECT on the view only
        Assert.Equal("1,3", await mariaDb.ScalarAsync("SELECT GROUP_CONCAT(id ORDER BY id SEPARATOR ',') FROM fact_secure", db));
    }
}
