using EtlStream.Pipeline;
using EtlStream.Sinks;
using EtlStream.Sources.Local;
using EtlStream.Tables;
using EtlStream.Tests.Support;

namespace EtlStream.Tests.Transforms;

/// <summary>float64 values beyond double's range are rejected like out-of-range integers, not stored as ±Infinity.</summary>
public sealed class Float64Tests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task Values_beyond_the_range_of_float64_go_to_the_rejects_file_naming_file_line_field_and_reason()
    {
        var input = _dir.File("floats.csv");
        await File.WriteAllTextAsync(input, "id,x\n1,1.5\n2,1e309\n3,-1e309\n4,1.7976931348623157E+308\n5,Infinity\n6,-2e-3\n");
        var output = _dir.File("out.parquet");
        var pipeline = new LoadPipeline(new LoadOptions { RejectsPath = _dir.File("rejects.parquet") });
        var spec = TableSpecReader.Read("table: t\nmax_reject_ratio: 0.5\ncolumns:\n  - { name: id, type: int64 }\n  - { name: x, type: float64 }\n", "t.yaml");
        LoadResult result;
        await using (var sink = SinkTarget.Create($"parquet:{output}", "t"))
        {
            result = await pipeline.RunAsync(LocalFileSource.List(input), spec, sink, default);
        }

        Assert.Equal((6L, 4L, 2L), (result.RowsRead, result.RowsLoaded, result.RowsRejected));
        Assert.Equal(
            [[1L, 1.5], [4L, double.MaxValue], [5L, double.PositiveInfinity], [6L, -0.002]],
            DuckDbQuery.Rows($"SELECT id, x FROM read_parquet({DuckDbQuery.Literal(output)}) ORDER BY id"));
        const string Reason = "float out of range (beyond ±1.7976931348623157E+308)";
        Assert.Equal(
            [
                [input, 3L, 2, "x", "conversion", "1e309", Reason, "2,1e309"],
                [input, 4L, 2, "x", "conversion", "-1e309", Reason, "3,-1e309"],
            ],
            DuckDbQuery.Rows($"SELECT source_file, line, field, \"column\", rule, value, reason, raw_row FROM read_parquet({DuckDbQuery.Literal(result.RejectsPath!)}) ORDER BY line"));
    }
}
