using System.Runtime.InteropServices;
using Apache.Arrow;
using Apache.Arrow.C;
using Apache.Arrow.Ipc;
using DuckDB.NET.Native;

namespace EtlStream.Sinks.DuckDb;

/// <summary>
/// Hands Arrow batches to DuckDB through the Arrow C data interface: DuckDB scans the batches' buffers in place
/// (<c>duckdb_arrow_scan</c>, the path its Python and ADBC clients use) and converts whole columns natively, where
/// DuckDB.NET's appender crossed into managed code per value (15 s of the standard job's 16). DuckDB.NET binds the
/// C API's Arrow calls only in the other direction, so the one call needed is declared here against the same
/// native library.
/// </summary>
internal static partial class DuckDbArrowScan
{
    /// <summary>
    /// Registers <paramref name="batches"/> as the view <paramref name="view"/> on <paramref name="connection"/>
    /// (inside its open transaction), runs <paramref name="run"/> (a statement that reads the view once), then
    /// drops the view, and releases the stream whatever happens. The batches stay owned by the caller.
    /// </summary>
    public static unsafe void WithView(DuckDB.NET.Data.DuckDBConnection connection, string view, Schema schema, IReadOnlyList<RecordBatch> batches, Action run, Action drop)
    {
        var stream = CArrowArrayStream.Create();
        try
        {
            CArrowArrayStreamExporter.ExportArrayStream(new BatchStream(schema, batches), stream);
            if (Scan(connection.NativeConnection, view, stream) != 0)
            {
                throw new InvalidOperationException($"DuckDB could not register the Arrow batches as view \"{view}\".");
            }

            run();

            // Not in a finally: a failed statement aborts the transaction, whose rollback takes the view with it, and
            // a DROP there would only fail again ("transaction is aborted") and hide the statement's own error.
            drop();
        }
        finally
        {
            CArrowArrayStream.Free(stream);
        }
    }

    [LibraryImport("duckdb", EntryPoint = "duckdb_arrow_scan", StringMarshalling = StringMarshalling.Utf8)]
    private static unsafe partial int Scan(DuckDBNativeConnection connection, string tableName, CArrowArrayStream* stream);

    /// <summary>The chunk's batches, each re-wrapped by <see cref="ManagedView"/> as it is read.</summary>
    private sealed class BatchStream(Schema schema, IReadOnlyList<RecordBatch> batches) : IArrowArrayStream
    {
        private int _next;

        public Schema Schema => schema;

        public ValueTask<RecordBatch?> ReadNextRecordBatchAsync(CancellationToken cancellationToken = default) =>
            ValueTask.FromResult(_next < batches.Count ? ManagedView(batches[_next++]) : null);

        public void Dispose()
        {
        }
    }

    /// <summary>
    /// The batch over the same memory, with buffers that own nothing: exporting one pins it instead of taking it
    /// over (Arrow's exporter moves natively allocated buffers to the consumer, which would free them under the
    /// caller, who may load the same batch again). Pinning is enough: the INSERT that reads the view has finished
    /// reading when it returns, before the caller disposes the batch. Allocates per batch and column, never per row.
    /// </summary>
    private static RecordBatch ManagedView(RecordBatch batch)
    {
        var arrays = new IArrowArray[batch.ColumnCount];
        for (var i = 0; i < arrays.Length; i++)
        {
            arrays[i] = ArrowArrayFactory.BuildArray(View(batch.Column(i).Data));
        }

        return new RecordBatch(batch.Schema, arrays, batch.Length);
    }

    private static ArrayData View(ArrayData data)
    {
        var buffers = new ArrowBuffer[data.Buffers.Length];
        for (var i = 0; i < buffers.Length; i++)
        {
            buffers[i] = data.Buffers[i].IsEmpty ? ArrowBuffer.Empty : new ArrowBuffer(data.Buffers[i].Memory);
        }

        ArrayData[]? children = null;
        if (data.Children is { Length: > 0 })
        {
            children = new ArrayData[data.Children.Length];
            for (var i = 0; i < children.Length; i++)
            {
                children[i] = View(data.Children[i]);
            }
        }

        return new ArrayData(data.DataType, data.Length, data.NullCount, data.Offset, buffers, children, data.Dictionary is null ? null : View(data.Dictionary));
    }
}
