using Apache.Arrow;
using Apache.Arrow.Types;
using EtlStream.Sinks;
using EtlStream.Tables;

namespace EtlStream.Tests.Sinks;

/// <summary>The rows the row-level security tests load: ids with a region each.</summary>
internal static class RegionRows
{
    public static readonly Schema Schema = new Schema.Builder()
        .Field(new Field("id", Int32Type.Default, nullable: false))
        .Field(new Field("region", StringType.Default, nullable: true, [new(ArrowTypes.MaxLengthKey, "16")]))
        .Build();

    /// <summary>Ids from <paramref name="firstId"/>, regions cycling North, South, East.</summary>
    public static RecordBatch Batch(int firstId, int count)
    {
        var id = new Int32Array.Builder();
        var region = new StringArray.Builder();
        string[] regions = ["North", "South", "East"];
        for (var i = 0; i < count; i++)
        {
            id.Append(firstId + i);
            region.Append(regions[i % 3]);
        }

        return new RecordBatch(Schema, [id.Build(), region.Build()], count);
    }

    public static async Task LoadAsync(IBatchSink sink, RecordBatch batch)
    {
        await using (sink)
        {
            await sink.OpenAsync(Schema, default);
            await sink.WriteAsync(new SinkChunk([batch]), default);
            await sink.CompleteAsync(default);
        }
    }

    /// <summary>The ids of <paramref name="batch"/> whose region is one of <paramref name="regions"/>, ascending.</summary>
    public static List<int> Ids(RecordBatch batch, params string[] regions)
    {
        var ids = new List<int>();
        var id = (Int32Array)batch.Column(0);
        var region = (StringArray)batch.Column(1);
        for (var i = 0; i < batch.Length; i++)
        {
            if (regions.Contains(region.GetString(i)))
            {
                ids.Add(id.GetValue(i)!.Value);
            }
        }

        return ids;
    }
}
