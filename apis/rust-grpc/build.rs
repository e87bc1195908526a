//! Generates the EventService code from the lab's only proto.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let proto = "../../proto/event_service.proto";
    println!("cargo:rerun-if-changed={proto}");
    tonic_prost_build::configure()
        .build_server(true)
        // The client is used by the handler tests only; it costs nothing at run time.
        .build_client(true)
        .compile_protos(&[proto], &["../../proto"])?;
    Ok(())
}
