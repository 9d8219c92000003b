using Apache.Arrow;
using EtlStream.Sinks;
using EtlStream.Sinks.Parquet;
using EtlStream.Tests.Support;

namespace EtlStream.Tests.Sinks.Contract;

/// <summary>A Parquet file is the "table": every completed run replaces it, so append and replace both write it anew.</summary>
public sealed class ParquetSinkContractTests : SinkContractTests
{
    protected override IBatchSink CreateSink(string table, bool replace, int concurrency = 3) =>
        new ParquetSink(new ParquetSinkOptions { Path = Dir.File(table + ".parquet") });

    protected override Task<List<object?[]>?> ReadRowsAsync(string table, Schema schema)
    {
        var path = Dir.File(table + ".parquet");
        return Task.FromResult(File.Exists(path) ? DuckDbQuery.Rows($"SELECT * FROM read_parquet({DuckDbQuery.Literal(path)})") : null);
    }
}
