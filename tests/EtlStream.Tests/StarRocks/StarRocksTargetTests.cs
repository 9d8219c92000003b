using EtlStream.Sinks;
using EtlStream.Sinks.StarRocks;

namespace EtlStream.Tests.StarRocks;

public sealed class StarRocksTargetTests
{
    [Fact]
    public void Parses_every_option_of_a_starrocks_target()
    {
        var o = StarRocksTarget.Parse(
            "starrocks://loader@fe.local:18030/sales?table=fact&mysql_port=19030&be=10.0.0.5:8040&mode=label&tls=true&concurrency=4&max_txns=5&chunk_mb=64&chunk_rows=500000&max_filter_ratio=0.1&strict_mode=true&timeout=900&overflow=widen&tenant=acme",
            "dflt", password: "pw");

        Assert.Equal(
            ("fe.local", 18030, 19030, "sales", "fact", "loader", "pw", "10.0.0.5:8040", StreamLoadMode.Label, true, 4, 64L * 1024 * 1024, 500_000, 0.1, true, 900, VarcharOverflowPolicy.Widen, "acme", StreamLoadDialect.StarRocks, 5),
            (o.Host, o.HttpPort, o.MySqlPort!.Value, o.Database, o.Table, o.User, o.Password, o.BackendAddress, o.Mode, o.UseTls, o.MaxConcurrency, o.ChunkBytes, o.ChunkRows, o.MaxFilterRatio, o.StrictMode, o.TimeoutSeconds, o.Overflow, o.Tenant, o.Dialect, o.MaxTransactions));
    }

    [Fact]
    public void Defaults_are_transaction_mode_90_mb_loads_and_the_default_table()
    {
        var o = StarRocksTarget.Parse("doris://root@fe/db", "fact_invoice", password: "");

        Assert.Equal((8030, 9030, "fact_invoice", StreamLoadMode.Transaction, 90L * 1024 * 1024, StreamLoadDialect.Doris, 8),
            (o.HttpPort, o.MySqlPort, o.Table, o.Mode, o.ChunkBytes, o.Dialect, o.MaxTransactions));
        Assert.IsType<StarRocksSink>(SinkTarget.Create("starrocks://root@fe/db?table=t", "t"));
    }

    [Fact]
    public void Connect_timeout_and_timeout_read_as_on_every_server_target_and_bound_the_client()
    {
        var set = StarRocksTarget.Parse("starrocks://u@fe/db?table=t&connect_timeout=5&timeout=900", "t", password: "");
        var unset = StarRocksTarget.Parse("doris://u@fe/db?table=t", "t", password: "");

        Assert.Equal((5.0, 900, 900.0), (set.ConnectTimeout.TotalSeconds, set.TimeoutSeconds, set.RequestTimeout.TotalSeconds));
        Assert.Equal(((double)SinkTarget.DefaultConnectTimeoutSeconds, SinkTarget.DefaultTimeoutSeconds, (double)SinkTarget.DefaultTimeoutSeconds),
            (unset.ConnectTimeout.TotalSeconds, unset.TimeoutSeconds, unset.RequestTimeout.TotalSeconds));
    }

    [Theory]
    [InlineData("connect_timeout", "0")]
    [InlineData("connect_timeout", "1.5")]
    [InlineData("timeout", "-3")]
    [InlineData("timeout", "86401")]
    public void Timeouts_outside_1_to_86400_whole_seconds_are_refused_in_the_words_of_every_server_target(string key, string value)
    {
        var starRocks = Assert.Throws<ArgumentException>(() => StarRocksTarget.Parse($"starrocks://u@fe/db?{key}={value}", "t", password: ""));
        var postgres = Assert.Throws<ArgumentException>(() => SinkTarget.Create($"postgres://u@h/db?table=t&{key}={value}", "t"));

        var reason = $"{key} must be whole seconds from 1 to 86400, got '{value}'";
        Assert.StartsWith($"Invalid target 'starrocks://u@fe/db?{key}={value}': {reason}. Form: ", starRocks.Message, StringComparison.Ordinal);
        Assert.Contains($": {reason}. Supported forms: ", postgres.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("starrocks://fe/db", "no user")]
    [InlineData("starrocks://u@fe", "give the database as the path")]
    [InlineData("starrocks://u@fe/db?mode=fast", "mode 'fast' (expected transaction or label)")]
    [InlineData("starrocks://u@fe/db?colour=red", "unknown option 'colour'")]
    [InlineData("starrocks://u@fe/db?table=a-b", "table: 'a-b' may hold only letters, digits and '_'")]
    [InlineData("starrocks://u@fe/db?max_filter_ratio=2", "max_filter_ratio: 2 is not in 0..1")]
    [InlineData("starrocks://u@fe/db?be=nohost", "be: 'nohost' is not host:port")]
    [InlineData("starrocks://u@fe/db?max_txns=1", "max_txns: 1 must be at least 2 (one file loading and one spare transaction)")]
    public void Rejects_bad_targets_saying_why(string target, string reason)
    {
        var e = Assert.Throws<ArgumentException>(() => StarRocksTarget.Parse(target, "t", password: ""));
        Assert.Contains(reason, e.Message, StringComparison.Ordinal);
    }
}
