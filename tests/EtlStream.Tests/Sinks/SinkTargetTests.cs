using EtlStream.Sinks;
using EtlStream.Sinks.DuckDb;
using EtlStream.Sinks.Parquet;

namespace EtlStream.Tests.Sinks;

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
    [InlineData("out.parquet", "no scheme")]
    [InlineData("parquet:", "path is empty")]
    [InlineData("duckdb:?table=x", "file is empty")]
    [InlineData("duckdb:w.duckdb?mode=merge", "unknown mode 'merge'")]
    [InlineData("duckdb:w.duckdb?tabel=x", "unknown option 'tabel'")]
    public void Invalid_ThrowsListingTheSupportedForms(string target, string reason)
    {
        var error = Assert.Throws<ArgumentException>(() => SinkTarget.Create(target, "t"));
        Assert.Contains(reason, error.Message, StringComparison.Ordinal);
        Assert.Contains("parquet:<path>", error.Message, StringComparison.Ordinal);
        Assert.Contains("duckdb:<file>?table=<name>", error.Message, StringComparison.Ordinal);
    }
}
