using EtlStream.Sinks;
using EtlStream.Sinks.ClickHouse;
using EtlStream.Sinks.DuckDb;
using EtlStream.Sinks.MySql;
using EtlStream.Sinks.Parquet;
using EtlStream.Sinks.Postgres;
using EtlStream.Sinks.Sql;
using MySqlConnector;
using Npgsql;

namespace EtlStream.Tests.Sinks;

[Collection(EtlStream.Tests.Sinks.SinkRegistryCollection.Name)] // reads the registry's list of forms
public sealed class SinkTargetTests
{
    [Fact]
    public void Parquet_CreatesAParquetSink()
    {
        var sink = SinkTarget.Create("parquet:out/x.parquet", "t");
        var parquet = Assert.IsType<ParquetSink>(sink);
        Assert.Equal(1, parquet.MaxConcurrency);
        Assert.Equal(1, parquet.PreferredChunkRows); // the native writer gathers row groups itself
    }

    [Fact]
    public void DuckDb_WithoutTable_UsesTheDefaultTableAndAppends()
    {
        var options = SinkTarget.ParseDuckDb("duckdb:data/w.duckdb", "data/w.duckdb", "fact_invoice");
        Assert.Equal(new DuckDbSinkOptions { DatabasePath = "data/w.duckdb", Table = "fact_invoice", Mode = DuckDbWriteMode.Append }, options);
        Assert.IsType<DuckDbSink>(SinkTarget.Create("duckdb:data/w.duckdb", "fact_invoice"));
    }

    [Theory]
    [InlineData("duckdb:w.duckdb?table=sales", "w.duckdb", "sales", DuckDbWriteMode.Append)]
    [InlineData("duckdb:w.duckdb?table=sales&mode=replace", "w.duckdb", "sales", DuckDbWriteMode.Replace)]
    [InlineData("duckdb:w.duckdb?mode=REPLACE", "w.duckdb", "dflt", DuckDbWriteMode.Replace)]
    [InlineData("duckdb:C:/x/w.duckdb?table=my%20table&mode=append", "C:/x/w.duckdb", "my table", DuckDbWriteMode.Append)]
    public void DuckDb_ParsesTableAndMode(string target, string file, string table, DuckDbWriteMode mode)
    {
        var options = SinkTarget.ParseDuckDb(target, target["duckdb:".Length..], "dflt");
        Assert.Equal(new DuckDbSinkOptions { DatabasePath = file, Table = table, Mode = mode }, options);
    }

    [Theory]
    [InlineData("s3://bucket/x", "unknown scheme 's3'")]
    [InlineData("out.parquet", "no scheme (did you mean parquet:out.parquet?)")]
    [InlineData("out/w.duckdb?table=t", "no scheme (did you mean duckdb:out/w.duckdb?table=t?)")]
    [InlineData("out.tsv", "no scheme (did you mean csv:out.tsv?)")]
    [InlineData("out.json", "no scheme. Supported forms: ")]
    [InlineData("parquet:", "path is empty")]
    [InlineData("duckdb:?table=x", "file is empty")]
    [InlineData("duckdb:w.duckdb?mode=merge", "unknown mode 'merge'")]
    [InlineData("duckdb:w.duckdb?tabel=x", "unknown option 'tabel'")]
    public void Invalid_ThrowsListingTheSupportedForms(string target, string reason)
    {
        var error = Assert.Throws<ArgumentException>(() => SinkTarget.Create(target, "t"));
        Assert.Contains(reason, error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("(Parameter", error.Message, StringComparison.Ordinal);
        Assert.All(SinkTarget.Forms, form => Assert.Contains(form, error.Message, StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("duckdb:w.duckdb", "dflt", "duckdb:{cwd}/w.duckdb/dflt")]
    [InlineData("duckdb:w.duckdb?table=t&mode=append", "t", "duckdb:{cwd}/w.duckdb/t")]
    [InlineData("duckdb:w.duckdb?mode=replace", "dflt", null)]
    [InlineData("parquet:x.parquet", "dflt", null)]
    [InlineData("csv:x.csv", "dflt", null)]
    [InlineData("postgresql://u@h/db?table=t&schema=s", "t", "postgres://u@h:5432/db/s.t")]
    [InlineData("postgres://u@h:6000/db", "dflt", "postgres://u@h:6000/db/public.dflt")]
    [InlineData("mariadb://u@h/db?table=t&mode=replace", "t", null)]
    [InlineData("mysql://u@h/db?concurrency=2", "dflt", "mysql://u@h:3306/db/dflt")]
    [InlineData("clickhouse://u@h/db?table=t", "t", "clickhouse://u@h:8123/db/t")]
    [InlineData("starrocks://u@fe:8030/db?table=t", "t", null)]
    public void Describe_NamesTheTableAndWhereALoadAppends(string target, string table, string? appendsTo)
    {
        var d = SinkTarget.Describe(target, "dflt");
        Assert.Equal((table, appendsTo?.Replace("{cwd}", Directory.GetCurrentDirectory(), StringComparison.Ordinal)), (d.Table, d.AppendsTo));
        Assert.Equal(target.StartsWith("duckdb:", StringComparison.Ordinal) ? Path.GetFullPath("w.duckdb") : null, d.DuckDbFile);
    }

    [Fact]
    public void Postgres_ParsesAddressTableModeSchemaAndConcurrency()
    {
        var options = PostgresSinkProvider.ParseTarget("postgres://loader@db.example:6543/warehouse?table=fact&schema=sales&mode=replace&concurrency=4", "dflt");
        var cs = new NpgsqlConnectionStringBuilder(options.ConnectionString);

        Assert.Equal(("db.example", 6543, "loader", "warehouse"), (cs.Host, cs.Port, cs.Username, cs.Database));
        Assert.Equal(("fact", "sales", SqlWriteMode.Replace, 4), (options.Table, options.Schema, options.Mode, options.MaxConcurrency));
        Assert.IsType<EtlStream.Sinks.Postgres.PostgresSink>(SinkTarget.Create("postgresql://u@h/d", "t"));
    }

    [Fact]
    public void MySql_DefaultsPortTableAndMode()
    {
        var options = MySqlSinkProvider.ParseTarget("mysql://loader@db.example/warehouse", "fact_invoice");
        var cs = new MySqlConnectionStringBuilder(options.ConnectionString);

        Assert.Equal(("db.example", 3306u, "loader", "warehouse", true), (cs.Server, cs.Port, cs.UserID, cs.Database, cs.AllowLoadLocalInfile));
        Assert.Equal(("fact_invoice", SqlWriteMode.Append), (options.Table, options.Mode));
    }

    [Fact]
    public void ClickHouse_IsItsHttpInterface()
    {
        var options = ClickHouseSinkProvider.ParseTarget("clickhouse://etl@10.0.0.5:18123/dw?table=t&mode=append", "x");

        Assert.Equal(new Uri("http://10.0.0.5:18123/"), options.Endpoint);
        Assert.Equal(("dw", "t", "etl", SqlWriteMode.Append), (options.Database, options.Table, options.User, options.Mode));
    }

    [Theory]
    [InlineData("postgres://u@h/d?mode=merge", "unknown mode 'merge'")]
    [InlineData("mysql://u@h/d?schema=x", "unknown option 'schema' (expected table, mode, concurrency, connect_timeout, timeout)")]
    [InlineData("postgres://u@h/d?timeout=0", "timeout must be whole seconds from 1 to 86400, got '0'")]
    [InlineData("clickhouse://u@h/d?connect_timeout=2.5", "connect_timeout must be whole seconds from 1 to 86400, got '2.5'")]
    [InlineData("postgres://u@h/d?sslmode=disable", "unknown sslmode 'disable' (expected require, verify-ca or verify-full)")]
    [InlineData("clickhouse://u@h/", "no database")]
    [InlineData("postgres://h/d", "no user")]
    [InlineData("mysql://u@h/d?concurrency=0", "concurrency must be 1..64, got '0'")]
    public void InvalidDatabaseTargets_SayWhy(string target, string reason)
    {
        var error = Assert.Throws<ArgumentException>(() => SinkTarget.Create(target, "t"));
        Assert.Contains(reason, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void PasswordInTheTarget_IsRefused_AndNeverPrinted()
    {
        var error = Assert.Throws<ArgumentException>(() => SinkTarget.Create("postgres://loader:s3cret-pw@h/d?table=t", "t"));

        Assert.Contains("Invalid target 'postgres://loader:***@h/d?table=t': a password does not belong in the target", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("s3cret-pw", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void DatabaseTargets_TakeConnectAndStatementTimeouts_DefaultingTo15And600Seconds()
    {
        var pg = new NpgsqlConnectionStringBuilder(PostgresSinkProvider.ParseTarget("postgres://u@h/d?connect_timeout=3&timeout=40", "t").ConnectionString);
        var my = new MySqlConnectionStringBuilder(MySqlSinkProvider.ParseTarget("mysql://u@h/d", "t").ConnectionString);
        var ch = ClickHouseSinkProvider.ParseTarget("clickhouse://u@h/d?timeout=7&connect_timeout=2", "t");

        Assert.Equal((3, 40), (pg.Timeout, pg.CommandTimeout));
        Assert.Equal((15u, 600u), (my.ConnectionTimeout, my.DefaultCommandTimeout));
        Assert.Equal((TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(7)), (ch.ConnectTimeout, ch.Timeout));
    }

    [Fact]
    public void Postgres_RefusesCleartextPasswordAuthentication_UnlessTheConnectionMustBeEncrypted()
    {
        var plain = new NpgsqlConnectionStringBuilder(PostgresSinkProvider.ParseTarget("postgres://u@h/d", "t").ConnectionString);
        var tls = new NpgsqlConnectionStringBuilder(PostgresSinkProvider.ParseTarget("postgres://u@h/d?sslmode=verify-full", "t").ConnectionString);

        Assert.Equal(("!Password", SslMode.Prefer), (plain.RequireAuth, plain.SslMode));
        Assert.Equal((null, SslMode.VerifyFull), (tls.RequireAuth, tls.SslMode));
    }

    [Theory]
    [InlineData("duckdb:a;b.duckdb?table=t", "a;b.duckdb")]
    [InlineData("duckdb:it's \"q\" = 1.duckdb", "it's \"q\" = 1.duckdb")]
    public void DuckDb_APathWithConnectionStringCharacters_IsOneQuotedDataSource(string target, string file)
    {
        var options = SinkTarget.ParseDuckDb(target, target["duckdb:".Length..], "t");
        var parsed = new System.Data.Common.DbConnectionStringBuilder { ConnectionString = DuckDbSinkOptions.ConnectionString(options.DatabasePath) };

        Assert.Equal(file, options.DatabasePath);
        Assert.Equal([Path.GetFullPath(file)], parsed.Values.Cast<object>().Select(v => v.ToString()));
    }

    [Theory]
    [InlineData("duckdb:w.duckdb;DataSource=x.duckdb", "holds connection-string text (';DataSource=')")]
    [InlineData("duckdb:Data Source=x.duckdb", "holds connection-string text ('Data Source=')")]
    [InlineData("duckdb:w.duckdb; access_mode = READ_ONLY", "holds connection-string text ('; access_mode =')")]
    [InlineData("duckdb:w\n.duckdb", "holds a control character (U+000A); a file path cannot")]
    [InlineData("duckdb:s3://bucket/w.duckdb", "starts with 's3://', which DuckDB reads as a remote or special database")]
    [InlineData("duckdb::MEMORY:", "is DuckDB's in-memory database")]
    public void DuckDb_TextThatIsNotAPath_IsRefusedSayingWhy(string target, string reason)
    {
        var error = Assert.Throws<ArgumentException>(() => SinkTarget.Create(target, "t"));
        Assert.Contains(reason, error.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => new DuckDbSink(new DuckDbSinkOptions { DatabasePath = target["duckdb:".Length..], Table = "t" }));
    }
}
