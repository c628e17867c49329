#version 450
// LinearBackward with the dX epilogue (rl::InputGradActivation); the shader is linear_backward_vec4.glsl.
#define RL_DX_EPILOGUE
#include "linear_backward_vec4.glsl"
