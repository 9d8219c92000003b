namespace EtlStream.Formats.Parquet;

/// <summary>
/// A temporary copy of an entry that has to be read with random access (Parquet), in the system temp folder
/// (<c>TMPDIR</c>), removed on dispose whatever happened. The entry stream is already bounded by the run's
/// decompression limits, so a spooled bomb fails as it is written, as it would when read.
/// </summary>
internal sealed class ParquetSpool : IDisposable
{
    private ParquetSpool(string path) => Path = path;

    public string Path { get; }

    public static async Task<ParquetSpool> WriteAsync(Stream input, CancellationToken cancellationToken)
    {
        var spool = new ParquetSpool(System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"etlstream-spool-{Guid.NewGuid():N}.parquet"));
        try
        {
            var file = new FileStream(spool.Path, FileMode.CreateNew, FileAccess.Write, FileShare.Read, 1 << 16, FileOptions.Asynchronous);
            await using (file.ConfigureAwait(false))
            {
                await input.CopyToAsync(file, 1 << 20, cancellationToken).ConfigureAwait(false);
            }

            return spool;
        }
        catch
        {
            spool.Dispose();
            throw;
        }
    }

    public void Dispose()
    {
        try
        {
            File.Delete(Path);
        }
        catch (IOException)
        {
            // already gone, or the disk is failing: nothing more to do here
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
